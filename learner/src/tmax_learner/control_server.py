"""`python -m tmax_learner serve`: the learner as a JSON-lines server that TypeScript drives (see learner/PROTOCOL.md).

Control messages are JSON objects, one per line, on stdin; replies likewise on stdout (nothing else is written
there; logs go to stderr). Token data never travels in JSON: a step names a batch file (packed_batch.py's
safetensors layout). Under torchrun, rank 0 reads stdin and broadcasts each message; every rank takes its
contiguous share of the batch's rows; only rank 0 replies and writes checkpoints.
"""

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
from transformers.utils import logging as hf_logging

from tmax_learner.model.policy_model import PolicyModel, load_policy_model
from tmax_learner.train.checkpoints import (
    CheckpointSchedule,
    load_resume_state,
    save_hf_checkpoint,
    save_resume_state,
)
from tmax_learner.train.data_parallel import init_from_environment, is_distributed, rank, world_size
from tmax_learner.train.packed_batch import BatchFileError, PackedRow, load_batch
from tmax_learner.train.sharding import Sharding, shard_policy, wants_fsdp2
from tmax_learner.train.train_step import TrainConfig, make_optimizer, train_step
from tmax_learner.train.weight_transfer import WIRE_DTYPES, NcclWeightSender, WeightTransferError

PROTOCOL_VERSION = 1


class ProtocolError(ValueError):
    """A message the server cannot act on; it answers with ok: false and keeps serving."""


@dataclass(frozen=True)
class ServerOptions:
    model_dir: Path
    out_dir: Path
    config: TrainConfig
    schedule: CheckpointSchedule
    resume_from: Path | None = None
    head_chunk_size: int = 1024
    sharding: Sharding = "auto"


def share_of_rows(rows: list[PackedRow], rank_index: int, ranks: int) -> list[PackedRow]:
    """A contiguous slice per rank; the first `len(rows) % ranks` ranks take one row more (no row is dropped)."""
    base, extra = divmod(len(rows), ranks)
    start = rank_index * base + min(rank_index, extra)
    return rows[start : start + base + (1 if rank_index < extra else 0)]


class LearnerServer:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.policy: PolicyModel
        if options.resume_from is not None:
            resumed = load_resume_state(
                options.resume_from, options.config, head_chunk_size=options.head_chunk_size, sharding=options.sharding
            )
            self.policy, self.optimizer = resumed.policy, resumed.optimizer
            self.step, self.data_position = resumed.step, resumed.data_position
        else:
            self.policy = load_policy_model(options.model_dir, head_chunk_size=options.head_chunk_size)
            if wants_fsdp2(options.sharding, self.policy.device):
                shard_policy(self.policy)
            self.optimizer = make_optimizer(self.policy, options.config)
            self.step, self.data_position = 0, None
        self.weight_sender = NcclWeightSender(is_sender=rank() == 0)

    def ready_message(self) -> dict[str, Any]:
        return {
            "type": "ready",
            "protocol": PROTOCOL_VERSION,
            "step": self.step,
            "data_position": self.data_position,
            "world_size": world_size(),
            "device": str(self.policy.device),
            "sharding": "fsdp2" if self.policy.sharded else "replicate",
        }

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message.get("type")
        if kind == "step":
            return self._step(message)
        if kind == "save":
            return self._save(message)
        if kind == "init_weight_transfer":
            return self._init_weight_transfer(message)
        if kind == "send_weights":
            report = self.weight_sender.send(self.policy.model)
            return {
                "type": "send_weights",
                "step": self.step,
                "tensors": report.tensors,
                "bytes": report.bytes,
                "seconds": report.seconds,
            }
        raise ProtocolError(
            f"unknown message type {json.dumps(kind)} (step, save, init_weight_transfer, send_weights, shutdown)"
        )

    def _init_weight_transfer(self, message: dict[str, Any]) -> dict[str, Any]:
        address, port, size = message.get("master_address"), message.get("master_port"), message.get("world_size")
        dtype = message.get("dtype", "bfloat16")
        if not isinstance(address, str) or not address:
            raise ProtocolError('init_weight_transfer: "master_address" must be a host name or address')
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ProtocolError('init_weight_transfer: "master_port" must be a port number')
        if not isinstance(size, int) or isinstance(size, bool) or size < 2:
            raise ProtocolError('init_weight_transfer: "world_size" must be an integer ≥ 2 (the learner + the workers)')
        if dtype not in WIRE_DTYPES:
            raise ProtocolError(f'init_weight_transfer: "dtype" must be one of {", ".join(WIRE_DTYPES)}')
        info = self.weight_sender.init(self.policy.model, self.policy.device, address, port, size, dtype)
        return {"type": "init_weight_transfer", "update_info": info}

    def _step(self, message: dict[str, Any]) -> dict[str, Any]:
        batch = message.get("batch")
        if not isinstance(batch, str):
            raise ProtocolError('step: "batch" must be the path of a safetensors batch file')
        rows = load_batch(Path(batch))
        if len(rows) < world_size():
            raise ProtocolError(f"step: {len(rows)} rows cannot feed {world_size()} data-parallel ranks")
        report = train_step(self.policy, self.optimizer, share_of_rows(rows, rank(), world_size()), self.options.config)
        saved: list[str] = []
        if report.applied:
            self.step += 1
            if "data_position" in message:
                self.data_position = message["data_position"]
            if self.options.schedule.hf_due(self.step):
                saved.append(self._save_hf())
            if self.options.schedule.resume_due(self.step):
                saved.append(self._save_resume())
        return {"type": "step", "step": self.step, "report": report.to_json(), "saved": saved}

    def _save(self, message: dict[str, Any]) -> dict[str, Any]:
        what = message.get("kind")
        if "data_position" in message:
            self.data_position = message["data_position"]
        if what == "hf":
            return {"type": "save", "kind": what, "step": self.step, "path": self._save_hf()}
        if what == "resume":
            return {"type": "save", "kind": what, "step": self.step, "path": self._save_resume()}
        raise ProtocolError(f'save: "kind" must be "hf" or "resume", got {json.dumps(what)}')

    # Every rank saves (gathering sharded weights is a collective); rank 0 writes and replies.
    def _save_hf(self) -> str:
        path = save_hf_checkpoint(self.policy, self.options.out_dir, self.step, self.options.model_dir)
        return "" if path is None else str(path)

    def _save_resume(self) -> str:
        path = save_resume_state(
            self.policy,
            self.optimizer,
            self.options.out_dir,
            self.step,
            self.options.model_dir,
            self.data_position,
            self.options.schedule.keep_resume,
        )
        return "" if path is None else str(path)


def _messages(source: TextIO) -> Iterator[str | None]:
    """Lines from rank 0's stdin, broadcast to every rank; None at end of input."""
    while True:
        line: str | None = None
        if rank() == 0:
            read = source.readline()
            line = read if read else None
        if is_distributed():
            box: list[str | None] = [line]
            dist.broadcast_object_list(box, src=0)
            line = box[0]
        yield line


def serve(options: ServerOptions, source: TextIO = sys.stdin, sink: TextIO = sys.stdout) -> int:
    # transformers' progress bars (loading, writing shards) would fill the driver's log with carriage returns.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    init_from_environment()
    torch.manual_seed(42)

    def reply(document: dict[str, Any]) -> None:
        if rank() == 0:
            sink.write(json.dumps(document, allow_nan=False) + "\n")
            sink.flush()

    server = LearnerServer(options)
    reply(server.ready_message())
    for line in _messages(source):
        if line is None:
            return 0
        if not line.strip():
            continue
        message_id: Any = None
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ProtocolError("a message must be a JSON object")
            message_id = message.get("id")
            if message.get("type") == "shutdown":
                reply({"id": message_id, "ok": True, "type": "shutdown", "step": server.step})
                return 0
            reply({"id": message_id, "ok": True, **server.handle(message)})
        except (json.JSONDecodeError, ProtocolError, BatchFileError, WeightTransferError, OSError) as err:
            reply({"id": message_id, "ok": False, "error": str(err)})
    return 0
