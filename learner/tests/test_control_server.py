"""The JSON-lines server as TypeScript will drive it: a subprocess, batch files named in messages, checkpoints on
schedule, errors answered without dying."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from tmax_learner.train.packed_batch import save_batch
from tmax_learner.train.synthetic_rows import pack_row, random_trajectory


def test_serve_steps_saves_and_shuts_down(tiny_model_dir: Path, tmp_path: Path) -> None:
    generator = torch.Generator().manual_seed(7)
    batch = tmp_path / "batch.safetensors"
    save_batch(batch, [pack_row([random_trajectory(generator, 3, 6, 1.0), random_trajectory(generator, 3, 5, -1.0)])])
    out = tmp_path / "out"
    messages = [
        {"id": 1, "type": "step", "batch": str(batch), "data_position": 8},
        {"id": 2, "type": "step", "batch": str(tmp_path / "missing.safetensors")},
        {"id": 3, "type": "nonsense"},
        {"id": 4, "type": "step", "batch": str(batch), "data_position": 16},
        {"id": 5, "type": "save", "kind": "hf"},
        {"id": 6, "type": "shutdown"},
    ]
    command = [sys.executable, "-m", "tmax_learner", "serve", "--model-dir", str(tiny_model_dir)]
    command += ["--out-dir", str(out), "--lr", "1e-3", "--hf-every", "2", "--resume-every", "1", "--keep-resume", "1"]
    command += ["--head-chunk-size", "64"]
    stdin = "".join(json.dumps(m) + "\n" for m in messages) + "not json\n"
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    replies: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines()]

    ready, *answers = replies
    assert ready["type"] == "ready" and ready["step"] == 0 and ready["world_size"] == 1
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6], "one reply per message; nothing after shutdown"
    first, missing, unknown, second, save, shutdown = answers
    assert first["ok"] and first["step"] == 1 and first["report"]["applied"] and first["report"]["tokens"] == 11
    assert first["saved"] == [str(out / "resume" / "step_1")]
    assert not missing["ok"] and "missing.safetensors" in missing["error"]
    assert not unknown["ok"] and "nonsense" in unknown["error"]
    assert second["step"] == 2 and second["saved"] == [str(out / "step_2"), str(out / "resume" / "step_2")]
    assert save["ok"] and save["path"] == str(out / "step_2")
    assert shutdown == {"id": 6, "ok": True, "type": "shutdown", "step": 2}
    assert [p.name for p in (out / "resume").iterdir()] == ["step_2"]
    state = json.loads((out / "resume" / "step_2" / "state.json").read_text())
    assert state == {"step": 2, "data_position": 16}
