"""The learner's NCCL sender, with a recording communicator in place of vLLM's PyNcclCommunicator (no GPU here):
what it declares is what it broadcasts, in order, and the protocol messages fail clearly without CUDA."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tmax_learner.train.weight_transfer import (
    NcclWeightSender,
    WeightTransferError,
    nccl_unavailable_reason,
)


class RecordingCommunicator:
    def __init__(self) -> None:
        self.sent: list[torch.Tensor] = []

    def broadcast(self, tensor: torch.Tensor, src: int, stream: Any = None) -> None:
        assert src == 0
        self.sent.append(tensor.clone())


class Tied(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.body = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight


def test_the_sender_broadcasts_exactly_what_it_declared() -> None:
    model = Tied()
    communicators: list[tuple[str, int, int, RecordingCommunicator]] = []

    def factory(address: str, port: int, world: int, device: torch.device) -> RecordingCommunicator:
        communicators.append((address, port, world, RecordingCommunicator()))
        return communicators[-1][3]

    sender = NcclWeightSender(is_sender=True, communicator_factory=factory)
    info = sender.init(model, torch.device("cpu"), "10.0.0.1", 29555, 3, "bfloat16", check_device=False)
    assert info == {
        "names": ["embed.weight", "body.weight", "body.bias"],
        "dtype_names": ["bfloat16"] * 3,
        "shapes": [[10, 4], [4, 4], [4]],
    }, "tied weights once, HF names, global shapes, the wire dtype"
    assert [c[:3] for c in communicators] == [("10.0.0.1", 29555, 3)]
    report = sender.send(model)
    sent = communicators[0][3].sent
    assert [tuple(t.shape) for t in sent] == [(10, 4), (4, 4), (4,)]
    assert all(t.dtype == torch.bfloat16 and t.is_contiguous() for t in sent)
    torch.testing.assert_close(sent[1], model.body.weight.detach().to(torch.bfloat16))
    assert (report.tensors, report.bytes) == (3, (40 + 16 + 4) * 2)


def test_other_ranks_iterate_but_never_broadcast() -> None:
    made: list[object] = []

    def factory(*args: object) -> RecordingCommunicator:
        made.append(args)
        return RecordingCommunicator()

    sender = NcclWeightSender(is_sender=False, communicator_factory=factory)
    sender.init(Tied(), torch.device("cpu"), "h", 1, 2, check_device=False)
    assert sender.send(Tied()).tensors == 3 and made == []


def test_misuse_is_a_clear_error() -> None:
    sender = NcclWeightSender(is_sender=True, communicator_factory=lambda *a: RecordingCommunicator())
    with pytest.raises(WeightTransferError, match="before init_weight_transfer"):
        sender.send(Tied())
    with pytest.raises(WeightTransferError, match="needs the learner and"):
        sender.init(Tied(), torch.device("cpu"), "h", 1, 1, check_device=False)
    sender.init(Tied(), torch.device("cpu"), "h", 1, 2, check_device=False)
    with pytest.raises(WeightTransferError, match="declared"):
        sender.send(torch.nn.Linear(4, 4))
    reason = nccl_unavailable_reason(torch.device("cpu"))
    assert reason is not None and "CUDA" in reason and "disk" in reason


def test_the_serve_protocol_refuses_nccl_without_cuda(tiny_model_dir: Path, tmp_path: Path) -> None:
    messages = [
        {"id": 1, "type": "send_weights"},
        {"id": 2, "type": "init_weight_transfer", "master_address": "127.0.0.1", "master_port": 29555, "world_size": 2},
        {"id": 3, "type": "init_weight_transfer", "master_address": "127.0.0.1", "master_port": 0, "world_size": 2},
        {"id": 4, "type": "shutdown"},
    ]
    command = [sys.executable, "-m", "tmax_learner", "serve", "--model-dir", str(tiny_model_dir)]
    command += ["--out-dir", str(tmp_path / "out")]
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    _, early, no_cuda, bad_port, shutdown = [json.loads(line) for line in done.stdout.splitlines()]
    assert not early["ok"] and "before init_weight_transfer" in early["error"]
    assert not no_cuda["ok"] and "CUDA" in no_cuda["error"] and "disk" in no_cuda["error"]
    assert not bad_port["ok"] and "master_port" in bad_port["error"]
    assert shutdown["ok"]
