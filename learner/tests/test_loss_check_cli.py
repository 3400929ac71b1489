"""The golden vectors (spec §6.1) and edge cases (§6.2) through `python -m tmax_learner loss-check`."""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from golden_vectors import (
    GOLDEN_CLIP_FRACTION,
    GOLDEN_DPPO_LOSS,
    GOLDEN_KEPT_FRACTION,
    GOLDEN_N,
    GOLDEN_PPO_LOSS,
    GOLDEN_ROW,
    SINGLE_TOKENS,
    case_of,
    single_token_case,
    write_cases,
)

from tmax_learner.__main__ import main

TOLERANCE = 1e-6


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], cases: list[dict[str, Any]], **top: Any) -> list[Any]:
    """Runs loss-check in process on the cases and returns the per-case results."""
    code = main(["loss-check", str(write_cases(tmp_path, cases, **top))])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    results: list[Any] = report["cases"]
    assert len(results) == len(cases)
    return results


def check_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    code = main(["loss-check", str(path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert str(path) in captured.err
    return captured.err


def test_golden_row_dppo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [result] = check(tmp_path, capsys, [case_of(GOLDEN_ROW, delta=0.1)])
    assert result["num_tokens"] == GOLDEN_N
    assert result["loss"] == pytest.approx(GOLDEN_DPPO_LOSS, rel=TOLERANCE)
    assert result["kept_fraction"] == pytest.approx(GOLDEN_KEPT_FRACTION, abs=TOLERANCE)
    for token, grad in zip(GOLDEN_ROW, result["grad_wrt_learner_logprobs"], strict=True):
        if not token.response:
            assert grad == 0.0, f"{token.name} (mask 0) gets no gradient"
        elif not token.kept:
            assert grad == 0.0, f"{token.name} is masked by the trust region"
        else:
            expected = -token.advantage * token.ratio / GOLDEN_N
            assert grad == pytest.approx(expected, rel=TOLERANCE), token.name
    # The table's rounded gradient column, as printed.
    printed = [0, -0.0785714, 0, -0.1785714, 0, 0, -0.0555556, 0, 0, 0.0982143, 0.0642857]
    assert result["grad_wrt_learner_logprobs"] == pytest.approx(printed, abs=1e-7)
    assert sum(t.dppo_term for t in GOLDEN_ROW) / GOLDEN_N == pytest.approx(GOLDEN_DPPO_LOSS, rel=1e-9)


def test_golden_row_ppo_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [result] = check(tmp_path, capsys, [case_of(GOLDEN_ROW)], loss="ppo-clip")
    assert result["loss_name"] == "ppo-clip"
    assert result["loss"] == pytest.approx(GOLDEN_PPO_LOSS, rel=TOLERANCE)
    assert result["clip_fraction"] == pytest.approx(GOLDEN_CLIP_FRACTION, abs=TOLERANCE)
    grads = dict(zip([t.name for t in GOLDEN_ROW], result["grad_wrt_learner_logprobs"], strict=True))
    assert grads["a2"] == 0.0 and grads["b0"] == 0.0, "clipped tokens get no gradient"
    assert grads["a1"] == pytest.approx(-0.5 * 1.25 / GOLDEN_N, rel=TOLERANCE), "PPO keeps what DPPO masks"
    assert sum(t.ppo_term for t in GOLDEN_ROW) / GOLDEN_N == pytest.approx(GOLDEN_PPO_LOSS, rel=1e-9)


def test_per_case_loss_overrides_the_file_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dppo, ppo = check(tmp_path, capsys, [case_of(GOLDEN_ROW), case_of(GOLDEN_ROW, loss="ppo-clip")], loss="dppo")
    assert dppo["loss"] == pytest.approx(GOLDEN_DPPO_LOSS, rel=TOLERANCE)
    assert ppo["loss"] == pytest.approx(GOLDEN_PPO_LOSS, rel=TOLERANCE)
    [default] = check(tmp_path, capsys, [case_of(GOLDEN_ROW)])
    assert default["loss_name"] == "dppo" and default["delta"] == 0.1, "DPPO with delta 0.1 unless told otherwise"


def test_single_token_vectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [single_token_case(v.mu, v.pi, v.advantage, delta=0.1) for v in SINGLE_TOKENS]
    for vector, result in zip(SINGLE_TOKENS, check(tmp_path, capsys, cases), strict=True):
        label = f"mu={vector.mu} pi={vector.pi} A={vector.advantage}"
        assert result["kept_fraction"] == (1.0 if vector.kept else 0.0), label
        assert result["loss"] == pytest.approx(vector.term, rel=TOLERANCE, abs=TOLERANCE), label
        # N = 1, and l_t = -A r M is linear in r = exp(l_pi - l_mu): the gradient equals the loss.
        [grad] = result["grad_wrt_learner_logprobs"]
        assert grad == pytest.approx(vector.term, rel=TOLERANCE, abs=TOLERANCE), label


def test_missing_behaviour_logprob_gets_the_sentinel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # p_mu = 1, r = pi / e, D = 1 - pi: masked iff A < 0 and 1 - pi > delta.
    nan = math.nan
    cases = [
        single_token_case(nan, 0.5, -1.0),  # D = 0.5, r < 1, A < 0: masked
        single_token_case(nan, 0.95, -1.0),  # D = 0.05: inside the region, kept
        single_token_case(nan, 0.5, +1.0),  # A > 0 with r < 1: moving back, kept
    ]
    masked, inside, back = check(tmp_path, capsys, cases)
    assert masked["kept_fraction"] == 0.0 and masked["grad_wrt_learner_logprobs"] == [0.0]
    assert inside["kept_fraction"] == 1.0
    assert inside["grad_wrt_learner_logprobs"][0] == pytest.approx(0.95 / math.e, rel=TOLERANCE)
    assert back["kept_fraction"] == 1.0
    assert back["grad_wrt_learner_logprobs"][0] == pytest.approx(-0.5 / math.e, rel=TOLERANCE)
    for result in (masked, inside, back):
        assert result["missing_behaviour_logprobs"] == 1
        assert result["logprob_diff_mean"] is None, "the sentinel is no measurement of the mismatch"


def test_tool_tokens_are_not_in_the_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = case_of(GOLDEN_ROW)
    # Tool tokens with stored logprob 0.0, a non-zero advantage and an extreme learner logprob change nothing.
    noisy = dict(
        row, advantages=[a if m else 0.5 for a, m in zip(row["advantages"], row["response_mask"], strict=True)]
    )
    noisy["learner_logprobs"] = [
        lp if m else -25.0 for lp, m in zip(row["learner_logprobs"], row["response_mask"], strict=True)
    ]
    plain, with_tools = check(tmp_path, capsys, [row, noisy])
    assert with_tools["num_tokens"] == GOLDEN_N
    assert with_tools["loss"] == plain["loss"]
    assert with_tools["grad_wrt_learner_logprobs"] == plain["grad_wrt_learner_logprobs"]


def test_ratio_is_unbounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rare, away = check(
        tmp_path,
        capsys,
        [
            single_token_case(1e-4, 0.09, +1.0),  # r = 900 with |dp| < delta: kept, weight 900
            single_token_case(0.1, 0.9, -1.0),  # A < 0 with r = 9 > 1: kept despite D = 0.8 > delta
        ],
    )
    assert rare["kept_fraction"] == 1.0 and rare["ratio_mean"] == pytest.approx(900, rel=TOLERANCE)
    assert rare["loss"] == pytest.approx(-900, rel=TOLERANCE)
    assert away["kept_fraction"] == 1.0
    assert away["grad_wrt_learner_logprobs"][0] == pytest.approx(9.0, rel=TOLERANCE)


def test_binary_kl_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every D_kl of the golden row is below 0.1 except a3's, which moves back: nothing is masked.
    [result] = check(tmp_path, capsys, [case_of(GOLDEN_ROW, loss="dppo-kl", delta=0.1)])
    assert result["kept_fraction"] == 1.0
    unmasked = sum(-t.advantage * t.ratio for t in GOLDEN_ROW) / GOLDEN_N
    assert result["loss"] == pytest.approx(unmasked, rel=TOLERANCE)


@pytest.mark.parametrize("delta", [0, -0.1, "0.1", None])
def test_delta_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str], delta: object) -> None:
    err = check_fails(tmp_path, capsys, {"cases": [case_of(GOLDEN_ROW, delta=delta)]})
    assert "cases[0].delta: DPPO needs a trust-region delta > 0" in err


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'expected a JSON object with "cases"'),
        ({"cases": []}, '"cases": expected a non-empty list'),
        ({"cases": [case_of(GOLDEN_ROW)], "loss": "grpo"}, "loss: expected one of dppo, dppo-kl, ppo-clip"),
        ({"cases": [{**case_of(GOLDEN_ROW), "vllm_logprob": []}]}, 'cases[0]: unknown key(s) "vllm_logprob"'),
        ({"cases": [{k: v for k, v in case_of(GOLDEN_ROW).items() if k != "advantages"}]}, 'missing "advantages"'),
        ({"cases": [{**case_of(GOLDEN_ROW), "advantages": [0.5]}]}, "lists differ in length"),
        ({"cases": [{**case_of(GOLDEN_ROW), "response_mask": [2] * 11}]}, "cases[0].response_mask[0]: expected 0 or 1"),
        (
            {"cases": [{**case_of(GOLDEN_ROW), "learner_logprobs": [None] * 11}]},
            "learner_logprobs[0]: expected a finite",
        ),
    ],
)
def test_bad_documents_are_reported_with_their_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object, message: str
) -> None:
    assert message in check_fails(tmp_path, capsys, document)


def test_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["loss-check", str(missing)]) == 1
    assert f"loss-check: {missing}: No such file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["loss-check", str(broken)]) == 1
    assert f"loss-check: {broken}: not valid JSON" in capsys.readouterr().err


def test_module_entry_point(tmp_path: Path) -> None:
    path = write_cases(tmp_path, [case_of(GOLDEN_ROW)])
    run = subprocess.run(
        [sys.executable, "-m", "tmax_learner", "loss-check", str(path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["cases"][0]["loss"] == pytest.approx(GOLDEN_DPPO_LOSS, rel=TOLERANCE)
    usage = subprocess.run([sys.executable, "-m", "tmax_learner", "loss-check"], capture_output=True, text=True)
    assert usage.returncode == 2
