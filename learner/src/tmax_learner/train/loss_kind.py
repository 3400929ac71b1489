"""The losses a training step can use (kept apart so the command line can list them without loading torch models)."""

from typing import Literal, get_args

LossKind = Literal["dppo", "dppo-kl", "ppo-clip", "sft"]
LOSS_KINDS: tuple[str, ...] = get_args(LossKind)
