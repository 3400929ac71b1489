"""The reference inference server over real HTTP, in-process, on the tiny Qwen3 model: what it samples, the logprobs it
reports (checked against an independent full forward pass), how requests stop, pause / resume with requests in
flight, disk weight updates and their versions, and its 400s."""

import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tmax_learner.inference.server import InferenceHttpServer, load_served_model, make_server
from tmax_learner.model.policy_model import load_policy_model
from tmax_learner.model.tiny_model import TinyDims, make_tiny_model
from tmax_learner.train.checkpoints import save_hf_checkpoint

EOS = 151645  # Qwen3's <|im_end|>, the tiny model's EOS


@dataclass
class Running:
    server: InferenceHttpServer
    url: str

    def call(self, method: str, path: str, body: object | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                text = reply.read()
                return reply.status, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def complete(self, **body: Any) -> dict[str, Any]:
        status, reply = self.call("POST", "/v1/completions", {"model": "default", **body})
        assert status == 200, reply
        choice: dict[str, Any] = reply["choices"][0]
        return choice

    def sample(self, prompt: list[int], **body: Any) -> dict[str, Any]:
        """A request as tmax's CompletionsTokenClient sends it."""
        fields = {
            "prompt": prompt,
            "logprobs": 1,
            "return_token_ids": True,
            "skip_special_tokens": False,
            "include_stop_str_in_output": True,
            "cache_salt": "group-0",
            **body,
        }
        return self.complete(**fields)


def start(model_dir: Path, batch_decode: bool = False) -> Running:
    served = load_served_model(model_dir, ("default",))
    server = make_server(served, "127.0.0.1", 0, seed=0, batch_decode=batch_decode)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Running(server, f"http://127.0.0.1:{server.port}")


def stop(running: Running) -> None:
    running.server.shutdown()
    running.server.engine.close()
    running.server.server_close()


@pytest.fixture(scope="module")
def shared(tiny_model_dir: Path) -> Iterator[Running]:
    """A server whose weights no test changes."""
    running = start(tiny_model_dir)
    yield running
    stop(running)


@pytest.fixture(params=[False, True], ids=["sequential", "batched"])
def fresh(tiny_model_dir: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    """A server of its own, for tests that pause it or change its weights; decoding one request per step, or with
    --batch-decode."""
    running = start(tiny_model_dir, batch_decode=request.param)
    yield running
    stop(running)


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    """Same architecture, other weights (seed 1): a checkpoint the server can load."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen3-seed1"), tokenizer_dir, seed=1)


@pytest.fixture(scope="module")
def prompt(tiny_model_dir: Path) -> list[int]:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "List the files in /tmp."}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=False,
    )
    tokens = [x for x in ids if isinstance(x, int)]
    assert len(tokens) == len(ids) > 10
    return tokens


def reference_logprobs(model_dir: Path, prompt: list[int], ids: list[int], temperature: float, top_p: float) -> Any:
    """An independent computation of what the server should report: one full forward pass over prompt + completion
    (no KV cache), then the sampling distribution — logits / temperature (1 when greedy), nucleus = the tokens whose
    probability mass ranked before them is below top_p — and the sampled tokens' logprobs under it."""
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt + ids])).logits[0]
    rows = logits[len(prompt) - 1 : len(prompt) - 1 + len(ids)].double()
    rows = rows / (temperature if temperature > 0 else 1.0)
    probs = torch.softmax(rows, dim=-1)
    ranked, order = probs.sort(dim=-1, descending=True)
    before = ranked.cumsum(dim=-1) - ranked
    keep_ranked = before < top_p
    keep = torch.zeros_like(keep_ranked).scatter(-1, order, keep_ranked)
    kept = torch.where(keep, rows, torch.tensor(float("-inf"), dtype=rows.dtype))
    processed = torch.log_softmax(kept, dim=-1)
    raw = torch.log_softmax(logits[len(prompt) - 1 : len(prompt) - 1 + len(ids)].double(), dim=-1)
    index = torch.tensor(ids)[:, None]
    return processed.gather(1, index)[:, 0], raw.gather(1, index)[:, 0], processed


def test_probes_and_models(shared: Running) -> None:
    assert shared.call("GET", "/health") == (200, None)
    status, models = shared.call("GET", "/v1/models")
    assert status == 200 and [m["id"] for m in models["data"]] == ["default"]
    assert models["data"][0]["max_model_len"] == 4096
    assert shared.call("GET", "/version")[0] == 200
    assert shared.call("GET", "/is_paused") == (200, {"is_paused": False})
    assert shared.call("GET", "/weight_info") == (200, {"weight_version": "0"})
    assert shared.call("GET", "/get_world_size") == (200, {"world_size": 1})


def test_greedy_is_deterministic_and_takes_the_argmax(shared: Running, tiny_model_dir: Path, prompt: list[int]) -> None:
    first = shared.sample(prompt, max_tokens=10, temperature=0, ignore_eos=True)
    again = shared.sample(prompt, max_tokens=10, temperature=0, ignore_eos=True, seed=123)
    assert first["token_ids"] == again["token_ids"] and first["logprobs"] == again["logprobs"]
    assert first["prompt_token_ids"] == prompt
    _, raw, processed = reference_logprobs(tiny_model_dir, prompt, first["token_ids"], 0.0, 1.0)
    assert first["token_ids"] == processed.argmax(dim=-1).tolist()
    # Greedy reports the model's own log-softmax (temperature 1), as vLLM does.
    assert torch.allclose(torch.tensor(first["logprobs"]["token_logprobs"], dtype=torch.float64), raw, atol=2e-4)


def test_seeded_sampling_is_reproducible_and_concurrent_requests_do_not_interfere(
    shared: Running, prompt: list[int]
) -> None:
    def run(seed: int) -> tuple[list[int], list[float]]:
        choice = shared.sample(prompt, max_tokens=12, temperature=1.0, top_p=0.95, seed=seed, ignore_eos=True)
        return choice["token_ids"], choice["logprobs"]["token_logprobs"]

    sequential = {seed: run(seed) for seed in (42, 43, 44, 45)}
    assert sequential[42] == run(42)
    assert sequential[42][0] != sequential[43][0], "another seed samples other tokens"
    concurrent: dict[int, tuple[list[int], list[float]]] = {}
    threads = [threading.Thread(target=lambda s=seed: concurrent.__setitem__(s, run(s))) for seed in sequential]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert concurrent == sequential


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.7, 0.9), (1.3, 0.5)])
def test_logprobs_are_the_processed_logprobs_of_a_direct_forward_pass(
    shared: Running, tiny_model_dir: Path, prompt: list[int], temperature: float, top_p: float
) -> None:
    choice = shared.sample(prompt, max_tokens=16, temperature=temperature, top_p=top_p, seed=7, ignore_eos=True)
    ids = choice["token_ids"]
    reported = torch.tensor(choice["logprobs"]["token_logprobs"], dtype=torch.float64)
    expected, raw, processed = reference_logprobs(tiny_model_dir, prompt, ids, temperature, top_p)
    assert len(ids) == 16 and bool(torch.isfinite(expected).all()), "every sampled token is inside the nucleus"
    assert torch.allclose(reported, expected, atol=2e-4), (reported - expected).abs().max()
    if (temperature, top_p) != (1.0, 1.0):
        assert (reported - raw).abs().min() > 1e-2, "the logprobs are the processed ones, not the raw model's"
    # logprobs: 1 also reports the most likely token of the processed distribution at each position.
    for position, entry in enumerate(choice["logprobs"]["top_logprobs"]):
        assert max(entry.values()) == pytest.approx(float(processed[position].max()), abs=2e-4)


def test_batch_decode_samples_each_request_from_its_own_processed_distribution(
    tiny_model_dir: Path, prompt: list[int]
) -> None:
    running = start(tiny_model_dir, batch_decode=True)
    try:
        prompts = [prompt, prompt[:-3], [*prompt, 9707], prompt]
        results: dict[int, dict[str, Any]] = {}

        def run(index: int) -> None:
            body = {"max_tokens": 12, "temperature": 0.8, "top_p": 0.9, "seed": index, "ignore_eos": True}
            results[index] = running.sample(prompts[index], **body)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [0, 1, 2, 3]
        assert results[0]["token_ids"] != results[3]["token_ids"], "same prompt, other seed"
        for index, choice in results.items():
            expected, _, _ = reference_logprobs(tiny_model_dir, prompts[index], choice["token_ids"], 0.8, 0.9)
            reported = torch.tensor(choice["logprobs"]["token_logprobs"], dtype=torch.float64)
            assert torch.allclose(reported, expected, atol=2e-4), (index, (reported - expected).abs().max())
    finally:
        stop(running)


def test_generation_stops_at_eos_with_the_eos_included(shared: Running, prompt: list[int]) -> None:
    # The tiny model's most likely next token is the last one, so a prompt that ends in EOS makes greedy emit EOS.
    ending = [*prompt, EOS]
    choice = shared.sample(ending, max_tokens=20, temperature=0)
    assert choice["token_ids"] == [EOS]
    assert (choice["finish_reason"], choice["stop_reason"], choice["text"]) == ("stop", None, "<|im_end|>")
    assert len(choice["logprobs"]["token_logprobs"]) == 1
    plain = shared.complete(prompt=ending, max_tokens=20, temperature=0)
    assert plain["text"] == "" and plain["token_ids"] is None, "vLLM's defaults: no ids, the stop token not in text"
    ignoring = shared.sample(ending, max_tokens=4, temperature=0, ignore_eos=True)
    assert ignoring["token_ids"] == [EOS] * 4 and ignoring["finish_reason"] == "length"


def test_stop_token_ids_and_min_tokens(shared: Running, prompt: list[int]) -> None:
    greedy = shared.sample(prompt, max_tokens=3, temperature=0, ignore_eos=True)["token_ids"]
    stopped = shared.sample(prompt, max_tokens=10, temperature=0, stop_token_ids=[greedy[0]])
    assert (stopped["token_ids"], stopped["finish_reason"], stopped["stop_reason"]) == ([greedy[0]], "stop", greedy[0])
    held = shared.sample(prompt, max_tokens=10, temperature=0, stop_token_ids=[greedy[0]], min_tokens=2)
    assert greedy[0] not in held["token_ids"][:2] and len(held["token_ids"]) >= 3


def test_generation_stops_at_max_tokens(shared: Running, prompt: list[int]) -> None:
    choice = shared.sample(prompt, max_tokens=5, temperature=1.0, seed=1)
    assert len(choice["token_ids"]) == 5 and choice["finish_reason"] == "length" and choice["stop_reason"] is None
    assert len(choice["logprobs"]["token_logprobs"]) == 5
    assert choice["weight_versions"] == [{"version": "0", "start": 0, "end": 5}]


def test_a_string_prompt_is_tokenized(shared: Running) -> None:
    choice = shared.complete(prompt="Hello", max_tokens=2, temperature=0, return_token_ids=True)
    assert choice["prompt_token_ids"] == [9707] and len(choice["token_ids"]) == 2


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"prompt": [1, 151669], "max_tokens": 2}, 400, "Token id 151669 is out of vocabulary"),
        ({"prompt": [1, 2, 3], "max_tokens": 4094}, 400, "maximum context length is 4096 tokens"),
        ({"prompt": [], "max_tokens": 2}, 400, "prompt"),
        ({"prompt": [1, -2], "max_tokens": 2}, 400, "Token id -2 is out of vocabulary"),
        ({"prompt": {"ids": [1]}}, 400, "prompt"),
        ({"prompt": [1], "max_tokens": 0}, 400, "max_tokens"),
        ({"prompt": [1], "temperature": -0.5}, 400, "temperature"),
        ({"prompt": [1], "top_p": 0}, 400, "top_p"),
        ({"prompt": [1], "logprobs": 21}, 400, "logprobs"),
        ({"prompt": [1], "n": 2}, 400, "n=2"),
        ({"prompt": [1], "stream": True}, 400, "stream"),
        ({"prompt": [1], "stop": ["\n"]}, 400, "stop strings"),
        ({"prompt": [1], "presence_penalty": 0.5}, 400, "presence_penalty"),
        ({"prompt": [1], "seed": "7"}, 400, "seed"),
        ({"prompt": [1], "cache_salt": ""}, 400, "cache_salt"),
        ({"prompt": [1], "model": "gpt-4"}, 404, "The model `gpt-4` does not exist."),
    ],
)
def test_bad_requests_get_clear_errors(shared: Running, body: dict[str, Any], status: int, message: str) -> None:
    got, reply = shared.call("POST", "/v1/completions", {"model": "default", **body})
    assert got == status
    assert message in reply["error"]["message"] and reply["error"]["code"] == status


def test_malformed_json_and_unknown_paths(shared: Running) -> None:
    status, reply = shared.call("POST", "/v1/completions", raw=b"{not json")
    assert status == 400 and "Invalid JSON" in reply["error"]["message"]
    assert shared.call("GET", "/v1/chat/nothing")[0] == 404
    assert shared.call("GET", "/v1/completions")[0] == 405
    assert shared.call("POST", "/pause?mode=later")[0] == 400


class InFlight:
    """A completion request running on a thread of its own."""

    def __init__(self, running: Running, prompt: list[int], max_tokens: int, **body: Any) -> None:
        self.result: dict[str, Any] | None = None
        self.thread = threading.Thread(target=self._run, args=(running, prompt, max_tokens, body), daemon=True)
        self.thread.start()

    def _run(self, running: Running, prompt: list[int], max_tokens: int, body: dict[str, Any]) -> None:
        self.result = running.sample(prompt, max_tokens=max_tokens, temperature=1.0, seed=5, ignore_eos=True, **body)

    def done(self, timeout: float = 120) -> dict[str, Any]:
        self.thread.join(timeout)
        assert self.result is not None
        return self.result


def sampled(running: Running) -> int:
    return int(running.server.engine.stats()["tokens_sampled"])


def wait_until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def load(running: Running, path: Path, version: str | None = None) -> tuple[int, Any]:
    assert running.call("POST", "/start_weight_update") == (200, {"message": "Weight update started"})
    status, reply = running.call("POST", "/update_weights", {"update_info": {"path": str(path)}})
    if status != 200:
        return status, reply
    return running.call("POST", "/finish_weight_update", {} if version is None else {"weight_version": version})


def test_pause_keep_freezes_requests_in_flight_and_resume_continues_them_on_new_weights(
    fresh: Running, prompt: list[int], other_model_dir: Path
) -> None:
    before = sampled(fresh)
    first = InFlight(fresh, prompt, 400)
    wait_until(lambda: sampled(fresh) >= before + 5)
    assert fresh.call("POST", "/pause?mode=keep") == (200, {"status": "paused"})
    assert fresh.call("GET", "/is_paused") == (200, {"is_paused": True})
    frozen = sampled(fresh)
    second = InFlight(fresh, prompt, 10)  # a new request waits too
    time.sleep(0.5)
    assert sampled(fresh) == frozen and first.result is None and second.result is None
    status, reply = load(fresh, other_model_dir, "v1")
    assert (status, reply["weight_version"]) == (200, "v1")
    assert fresh.call("GET", "/weight_info") == (200, {"weight_version": "v1"})
    time.sleep(0.2)
    assert sampled(fresh) == frozen, "loading weights does not unpause"
    assert fresh.call("POST", "/resume") == (200, {"status": "resumed"})
    assert fresh.call("GET", "/is_paused") == (200, {"is_paused": False})
    done = first.done()
    assert done["finish_reason"] == "length" and len(done["token_ids"]) == 400, "nothing was dropped or cut"
    spans = done["weight_versions"]
    assert [s["version"] for s in spans] == ["0", "v1"]
    assert spans[0]["start"] == 0 and 0 < spans[0]["end"] == spans[1]["start"] < 400 and spans[1]["end"] == 400
    assert second.done()["weight_versions"] == [{"version": "v1", "start": 0, "end": 10}]


def test_pause_abort_ends_requests_in_flight_and_pause_wait_lets_them_finish(fresh: Running, prompt: list[int]) -> None:
    before = sampled(fresh)
    aborted = InFlight(fresh, prompt, 2000)
    wait_until(lambda: sampled(fresh) >= before + 3)
    assert fresh.call("POST", "/pause?mode=abort") == (200, {"status": "paused"})
    result = aborted.done()
    assert result["finish_reason"] == "abort" and 3 <= len(result["token_ids"]) < 2000
    assert len(result["logprobs"]["token_logprobs"]) == len(result["token_ids"])
    held = InFlight(fresh, prompt, 5)
    time.sleep(0.3)
    assert held.result is None, "requests made while paused wait for resume"
    fresh.call("POST", "/resume")
    assert held.done()["finish_reason"] == "length"

    before = sampled(fresh)
    draining = InFlight(fresh, prompt, 60)
    wait_until(lambda: sampled(fresh) >= before + 2)
    assert fresh.call("POST", "/pause?mode=wait") == (200, {"status": "paused"})
    assert fresh.server.engine.stats()["running"] == 0 and sampled(fresh) == before + 60
    assert draining.done()["finish_reason"] == "length"
    fresh.call("POST", "/resume")


def test_loading_weights_changes_outputs_and_the_version(
    fresh: Running, tiny_model_dir: Path, other_model_dir: Path, prompt: list[int]
) -> None:
    request = {"max_tokens": 8, "temperature": 1.0, "seed": 11, "ignore_eos": True}
    original = fresh.sample(prompt, **request)
    assert fresh.call("POST", "/init_weight_transfer_engine", {"init_info": {}})[0] == 200
    status, reply = load(fresh, other_model_dir)
    assert (status, reply["weight_version"]) == (200, "1"), "a load without a label takes the next integer"
    assert fresh.call("GET", "/weight_info") == (200, {"weight_version": "1"})
    changed = fresh.sample(prompt, **request)
    assert changed["token_ids"] != original["token_ids"]
    assert changed["weight_versions"] == [{"version": "1", "start": 0, "end": 8}]
    expected, _, _ = reference_logprobs(other_model_dir, prompt, changed["token_ids"], 1.0, 1.0)
    reported = torch.tensor(changed["logprobs"]["token_logprobs"], dtype=torch.float64)
    assert torch.allclose(reported, expected, atol=2e-4), "the logprobs come from the new weights"
    # vLLM's older protocol (no start/finish): update_weights alone loads and commits.
    status, reply = fresh.call("POST", "/update_weights", {"update_info": {"path": str(tiny_model_dir)}})
    assert (status, reply["weight_version"]) == (200, "2")
    back = fresh.sample(prompt, **request)
    assert (back["token_ids"], back["logprobs"]) == (original["token_ids"], original["logprobs"])
    assert fresh.call("POST", "/update_weight_version", {"new_version": "step-7"}) == (
        200,
        {"success": True, "new_version": "step-7"},
    )
    assert fresh.sample(prompt, **request)["weight_versions"][0]["version"] == "step-7"


def test_a_bad_checkpoint_changes_nothing(
    fresh: Running, tiny_model_dir: Path, tokenizer_dir: Path, tmp_path: Path, prompt: list[int]
) -> None:
    request = {"max_tokens": 6, "temperature": 1.0, "seed": 3, "ignore_eos": True}
    original = fresh.sample(prompt, **request)
    wider = make_tiny_model(tmp_path / "wider", tokenizer_dir, dims=TinyDims(hidden=32, intermediate=64))
    partial = tmp_path / "partial"
    shutil.copytree(tiny_model_dir, partial)
    tensors = load_file(str(partial / "model.safetensors"))
    dropped = sorted(tensors)[0]
    save_file({k: v for k, v in tensors.items() if k != dropped}, str(partial / "model.safetensors"))
    renamed = tmp_path / "renamed"
    shutil.copytree(tiny_model_dir, renamed)
    save_file({f"extra.{k}": v for k, v in tensors.items()}, str(renamed / "model.safetensors"))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ("relative/dir", "absolute"),
        (str(tmp_path / "missing"), "no such directory"),
        (str(empty), "no .safetensors files"),
        (str(wider), "shape"),
        (str(partial), f"lacks 1 parameter(s) of the model: {dropped}"),
        (str(renamed), "is not a parameter of the served model"),
    ]
    for path, message in cases:
        status, reply = fresh.call("POST", "/update_weights", {"update_info": {"path": path}})
        assert status == 400 and message in reply["error"]["message"], (path, reply)
    # In a session: the failed load leaves nothing to commit, and the session can be started again.
    fresh.call("POST", "/start_weight_update")
    assert fresh.call("POST", "/update_weights", {"update_info": {"path": str(wider)}})[0] == 400
    assert fresh.call("POST", "/finish_weight_update", {"weight_version": "x"})[0] == 409
    assert fresh.call("POST", "/finish_weight_update")[0] == 409, "no session is open"
    assert fresh.call("POST", "/start_weight_update")[0] == 200
    assert fresh.call("POST", "/start_weight_update")[0] == 409, "one session at a time"
    assert fresh.call("POST", "/update_weights", {"update_info": {"path": str(tiny_model_dir), "x": 1}})[0] == 400
    assert fresh.call("GET", "/weight_info") == (200, {"weight_version": "0"})
    assert fresh.sample(prompt, **request) == original


def test_a_checkpoint_in_another_hugging_face_layout_loads_through_transformers(
    fresh: Running, other_model_dir: Path, tmp_path: Path, prompt: list[int]
) -> None:
    # Tensor names without the base-model prefix ("layers.0…" for "model.layers.0…"): not the module's names, but a
    # layout transformers converts on load.
    unprefixed = tmp_path / "unprefixed"
    shutil.copytree(other_model_dir, unprefixed)
    tensors = load_file(str(unprefixed / "model.safetensors"))
    save_file({k.removeprefix("model."): v for k, v in tensors.items()}, str(unprefixed / "model.safetensors"))
    status, reply = load(fresh, unprefixed, "converted")
    assert (status, reply["weight_version"]) == (200, "converted"), reply
    choice = fresh.sample(prompt, max_tokens=6, temperature=1.0, seed=2, ignore_eos=True)
    expected, _, _ = reference_logprobs(other_model_dir, prompt, choice["token_ids"], 1.0, 1.0)
    reported = torch.tensor(choice["logprobs"]["token_logprobs"], dtype=torch.float64)
    assert torch.allclose(reported, expected, atol=2e-4), "the converted checkpoint's weights are the ones served"


def test_a_learner_checkpoint_loads(
    fresh: Running, tiny_model_dir: Path, tokenizer_dir: Path, tmp_path: Path, prompt: list[int]
) -> None:
    policy = load_policy_model(tiny_model_dir, torch.device("cpu"))
    with torch.no_grad():
        for parameter in policy.model.parameters():
            parameter.mul_(1.5)
    checkpoint = save_hf_checkpoint(policy, tmp_path / "out", 3, tokenizer_dir)
    assert checkpoint is not None and checkpoint.name == "step_3"
    status, reply = load(fresh, checkpoint, "3")
    assert (status, reply["weight_version"]) == (200, "3"), reply
    choice = fresh.sample(prompt, max_tokens=6, temperature=0.9, seed=4, ignore_eos=True)
    expected, _, _ = reference_logprobs(checkpoint, prompt, choice["token_ids"], 0.9, 1.0)
    reported = torch.tensor(choice["logprobs"]["token_logprobs"], dtype=torch.float64)
    assert torch.allclose(reported, expected, atol=2e-4)


def test_a_client_that_goes_away_has_its_request_aborted(fresh: Running, prompt: list[int]) -> None:
    body = json.dumps({"prompt": prompt, "max_tokens": 3000, "ignore_eos": True}).encode()
    connection = socket.create_connection(("127.0.0.1", fresh.server.port))
    connection.sendall(
        b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    wait_until(lambda: fresh.server.engine.stats()["running"] == 1)
    connection.close()
    wait_until(lambda: fresh.server.engine.stats()["running"] == 0, timeout=10)
    assert sampled(fresh) < 3000


@pytest.mark.parametrize(
    "flags", [["--port", "70000"], ["--threads", "0"], ["--max-num-seqs", "0"], ["--max-model-len", "1"]]
)
def test_serve_inference_usage_errors_exit_2(tiny_model_dir: Path, flags: list[str]) -> None:
    from tmax_learner.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["serve-inference", "--model-dir", str(tiny_model_dir), *flags])
    assert exited.value.code == 2


def test_serve_inference_refuses_a_context_longer_than_the_model_and_a_missing_dir(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from tmax_learner.inference.run import InferenceOptions, serve_inference

    assert serve_inference(InferenceOptions(tiny_model_dir, port=0, max_model_len=10_000)) == 1
    assert serve_inference(InferenceOptions(tmp_path / "nothing", port=0)) == 1


BASH_TOOL = {
    "type": "function",
    "function": {
        "name": "bash",
        "description": "Run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
}


def test_chat_completions_render_the_chat_template_and_sample_as_completions(
    shared: Running, tiny_model_dir: Path
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a terminal agent."},
        {"role": "user", "content": "List /tmp."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls /tmp"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "a\nb"},
    ]
    body = {
        "model": "default",
        "messages": messages,
        "tools": [BASH_TOOL],
        "max_tokens": 6,
        "temperature": 0.8,
        "seed": 9,
        "logprobs": True,
        "return_token_ids": True,
        "ignore_eos": True,
    }
    status, reply = shared.call("POST", "/v1/chat/completions", body)
    assert status == 200, reply
    assert reply["object"] == "chat.completion"
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    decoded_call = {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": {"command": "ls /tmp"}}}
    history = [*messages[:2], {**messages[2], "tool_calls": [decoded_call]}, messages[3]]
    expected_prompt = tokenizer.apply_chat_template(
        history, tools=[BASH_TOOL], add_generation_prompt=True, tokenize=True, return_dict=False
    )
    assert reply["prompt_token_ids"] == expected_prompt
    choice = reply["choices"][0]
    ids = choice["token_ids"]
    assert len(ids) == 6 and choice["finish_reason"] == "length"
    assert choice["message"]["role"] == "assistant" and choice["message"]["tool_calls"] == []
    assert choice["message"]["content"] == tokenizer.decode(ids, skip_special_tokens=True)
    same = shared.sample(reply["prompt_token_ids"], max_tokens=6, temperature=0.8, seed=9, ignore_eos=True)
    assert same["token_ids"] == ids, "a chat request samples as the completion of its rendered prompt"
    logprobs = [entry["logprob"] for entry in choice["logprobs"]["content"]]
    expected, _, _ = reference_logprobs(tiny_model_dir, reply["prompt_token_ids"], ids, 0.8, 1.0)
    assert torch.allclose(torch.tensor(logprobs, dtype=torch.float64), expected, atol=2e-4)
    assert reply["usage"]["prompt_tokens"] == len(expected_prompt) and reply["usage"]["completion_tokens"] == 6


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "messages must be a non-empty list"),
        ({"messages": [{"content": "hi"}]}, "role"),
        ({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}, "tool_choice"),
        ({"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}, "top_logprobs needs logprobs"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5000}, "maximum context length"),
    ],
)
def test_bad_chat_requests_get_400(shared: Running, body: dict[str, Any], message: str) -> None:
    status, reply = shared.call("POST", "/v1/chat/completions", {"model": "default", **body})
    assert status == 400 and message in reply["error"]["message"], reply
