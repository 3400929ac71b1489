"""The learner's half of vLLM's native NCCL weight transfer (`--weight-transfer-config '{"backend": "nccl"}'`).

vLLM's receiver (vllm/distributed/weight_transfer/nccl_engine.py, vLLM 0.16 through ≈0.33; under
vllm/backends/distributed/... in the newest, with the old paths kept as aliases) joins a `StatelessProcessGroup` +
`PyNcclCommunicator` group at `init_weight_transfer_engine` — its workers at ranks `rank_offset …`, the trainer at
rank 0, which hosts the rendezvous store — and at `update_weights` receives, unpacked, one `broadcast(src=0)` per
tensor of its update info, in that order, each into `torch.empty(shape, dtype=getattr(torch, dtype_name))`, then
`load_weights([(name, tensor)])`. The sender must therefore broadcast exactly the declared names, dtypes and shapes
in the declared order, from a communicator made the same way; vLLM's own trainer helpers make it with those two
classes, so this module uses them too (the `vllm` package must be importable in the learner's environment, the same
version as the servers'). Names are the Hugging Face module names (what `save_pretrained` writes, tied weights once),
which vLLM's `load_weights` maps onto its own layout.

Every rank iterates the parameters (under FSDP2 `full_tensor()` is an all-gather every rank must join); only rank 0
holds the communicator and broadcasts.
"""

import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch

WIRE_DTYPES: dict[str, torch.dtype] = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


class WeightTransferError(RuntimeError):
    """The weight transfer cannot run (no CUDA, no vLLM, not initialised, a tensor that differs from its metadata)."""


class Communicator(Protocol):
    """What is used of vLLM's PyNcclCommunicator."""

    def broadcast(self, tensor: torch.Tensor, src: int, stream: Any = None) -> None: ...


CommunicatorFactory = Callable[[str, int, int, torch.device], Communicator]
"""(master_address, master_port, world_size, device) → a communicator in which this process is rank 0."""


@dataclass(frozen=True)
class WireTensor:
    name: str
    dtype_name: str
    shape: tuple[int, ...]


def _clean_name(name: str) -> str:
    # Activation-checkpoint wrappers (torch's checkpoint_wrapper) insert this component into parameter names.
    return name.replace("_checkpoint_wrapped_module.", "")


def wire_metadata(model: torch.nn.Module, dtype_name: str) -> list[WireTensor]:
    """The tensors a send broadcasts, in order: every parameter (tied ones once) under its HF name, full (global)
    shape, cast to the wire dtype. Reading shapes never gathers FSDP2 shards (a DTensor's shape is the global one)."""
    if dtype_name not in WIRE_DTYPES:
        raise WeightTransferError(f"wire dtype must be one of {', '.join(WIRE_DTYPES)}, not {dtype_name!r}")
    return [WireTensor(_clean_name(n), dtype_name, tuple(int(d) for d in p.shape)) for n, p in model.named_parameters()]


def wire_tensors(model: torch.nn.Module, dtype_name: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Each parameter, whole (FSDP2 shards gathered: a collective on every rank), cast and contiguous."""
    dtype = WIRE_DTYPES[dtype_name]
    with torch.no_grad():
        for name, param in model.named_parameters():
            full = getattr(param, "full_tensor", None)
            tensor = full() if callable(full) else param
            yield _clean_name(name), tensor.detach().to(dtype).contiguous()


def update_info(metadata: list[WireTensor]) -> dict[str, Any]:
    """vLLM's NCCLWeightTransferUpdateInfo fields (unpacked: `packed` left at the receiver's default, false)."""
    return {
        "names": [m.name for m in metadata],
        "dtype_names": [m.dtype_name for m in metadata],
        "shapes": [list(m.shape) for m in metadata],
    }


def nccl_unavailable_reason(device: torch.device) -> str | None:
    """Why this process cannot be the NCCL sender, or None."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return (
            f"vLLM's NCCL weight transfer needs the learner on CUDA GPUs with NCCL (this learner runs on {device}); "
            "use the disk weight sync instead"
        )
    if not torch.distributed.is_nccl_available():
        return "this PyTorch build has no NCCL; use the disk weight sync instead"
    try:
        _vllm_group_classes()
    except ImportError as err:
        return (
            "vLLM's NCCL weight transfer needs the vllm package in the learner's environment, the same version as the "
            f"inference servers (its StatelessProcessGroup and PyNcclCommunicator form the group): {err}"
        )
    return None


def _vllm_group_classes() -> tuple[Any, Any]:
    # Imported by name: vLLM is optional (GPU machines only) and has no type information here.
    try:  # the newest layout
        pynccl = importlib.import_module("vllm.backends.distributed.device_communicators.pynccl")
        utils = importlib.import_module("vllm.backends.distributed.utils")
    except ImportError:
        pynccl = importlib.import_module("vllm.distributed.device_communicators.pynccl")
        utils = importlib.import_module("vllm.distributed.utils")
    return utils.StatelessProcessGroup, pynccl.PyNcclCommunicator


def vllm_communicator(master_address: str, master_port: int, world_size: int, device: torch.device) -> Communicator:
    """Rank 0 of the group, made as vLLM's trainer_init makes it (rank 0 hosts the rendezvous store)."""
    group_cls, communicator_cls = _vllm_group_classes()
    group = group_cls.create(host=master_address, port=master_port, rank=0, world_size=world_size)
    communicator: Communicator = communicator_cls(group, device=device)
    return communicator


@dataclass
class SendReport:
    tensors: int
    bytes: int
    seconds: float


class NcclWeightSender:
    """Rank 0's NCCL group with the inference workers, and the broadcast of the weights into it."""

    def __init__(self, is_sender: bool, communicator_factory: CommunicatorFactory = vllm_communicator) -> None:
        self.is_sender = is_sender
        self.factory = communicator_factory
        self.communicator: Communicator | None = None
        self.metadata: list[WireTensor] | None = None

    def init(
        self,
        model: torch.nn.Module,
        device: torch.device,
        master_address: str,
        master_port: int,
        world_size: int,
        dtype_name: str = "bfloat16",
        check_device: bool = True,
    ) -> dict[str, Any]:
        """Joins the group (rank 0 only; blocks until every worker joined) and returns the update info."""
        if self.metadata is not None:
            raise WeightTransferError("the NCCL weight transfer is already initialised")
        if world_size < 2:
            raise WeightTransferError(f"an NCCL weight-transfer group needs the learner and ≥ 1 worker: {world_size}")
        if check_device:
            reason = nccl_unavailable_reason(device)
            if reason is not None:
                raise WeightTransferError(reason)
        metadata = wire_metadata(model, dtype_name)
        if self.is_sender:
            self.communicator = self.factory(master_address, master_port, world_size, device)
        self.metadata = metadata
        return update_info(metadata)

    def send(self, model: torch.nn.Module) -> SendReport:
        """Every rank calls it (the gathers are collectives); rank 0 broadcasts each tensor as declared."""
        if self.metadata is None:
            raise WeightTransferError("send_weights before init_weight_transfer")
        started = time.perf_counter()
        stream = torch.cuda.current_stream() if torch.cuda.is_available() else None
        count = sent_bytes = 0
        for (name, tensor), declared in _zip_strict(wire_tensors(model, self.metadata[0].dtype_name), self.metadata):
            if name != declared.name or tuple(tensor.shape) != declared.shape:
                # Sending it would make the receiver cut the byte stream wrongly: it hangs or loads garbage.
                raise WeightTransferError(
                    f"parameter {count} is {name} {tuple(tensor.shape)}; {declared.name} {declared.shape} was declared"
                )
            if self.is_sender:
                assert self.communicator is not None
                self.communicator.broadcast(tensor, src=0, stream=stream)
            count += 1
            sent_bytes += tensor.numel() * tensor.element_size()
        if stream is not None:
            stream.synchronize()
        return SendReport(count, sent_bytes, time.perf_counter() - started)


def _zip_strict(
    tensors: Iterator[tuple[str, torch.Tensor]], metadata: list[WireTensor]
) -> Iterator[tuple[tuple[str, torch.Tensor], WireTensor]]:
    index = 0
    for item in tensors:
        if index >= len(metadata):
            raise WeightTransferError(f"the model has more parameters than the {len(metadata)} declared")
        yield item, metadata[index]
        index += 1
    if index != len(metadata):
        raise WeightTransferError(f"the model has {index} parameters, {len(metadata)} were declared")
