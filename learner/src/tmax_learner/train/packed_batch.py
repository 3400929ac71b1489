"""A step batch of packed rows (spec §7) as the learner reads it: one safetensors file of flat columns.

Columns, all of length T_total (the rows one after another), except row_lengths:

  token_ids           int32    the rows' token ids
  position_ids        int32    0, 1, 2, … restarting at each trajectory
  document_ids        int32    trajectory index + 1 on every token of a trajectory, 0 on padding
  response_mask       int32    trajectory index + 1 on model-sampled tokens, 0 elsewhere
  behaviour_logprobs  float32  the engine's logprob μ of model-sampled tokens (NaN allowed); 1.0 elsewhere
  advantages          float32  the token's trajectory's advantage on model-sampled tokens, 0 elsewhere
  row_lengths         int64    [R]: the length of each row; they sum to T_total

These are packing.ts's PackedRow fields (with rowAdvantages), concatenated.
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

TOKEN_COLUMNS = ("token_ids", "position_ids", "document_ids", "response_mask", "behaviour_logprobs", "advantages")
INTEGER_COLUMNS = ("token_ids", "position_ids", "document_ids", "response_mask")


class BatchFileError(ValueError):
    """A batch file that cannot be used; the message says why."""


@dataclass(frozen=True)
class PackedRow:
    token_ids: torch.Tensor
    position_ids: torch.Tensor
    document_ids: torch.Tensor
    response_mask: torch.Tensor
    behaviour_logprobs: torch.Tensor
    advantages: torch.Tensor

    def __len__(self) -> int:
        return int(self.token_ids.shape[0])

    def scored_response_tokens(self) -> int:
        """Response tokens the loss sees: every model token but a row's first (nothing precedes it to score it)."""
        return int((self.response_mask[1:] != 0).sum())


def step_tokens(rows: list[PackedRow]) -> int:
    """N of the token mean for these rows."""
    return sum(row.scored_response_tokens() for row in rows)


def _column_dtype(name: str) -> torch.dtype:
    return torch.int32 if name in INTEGER_COLUMNS else torch.float32


def save_batch(path: Path, rows: list[PackedRow]) -> None:
    if not rows:
        raise ValueError("a batch needs at least one row")
    tensors = {
        name: torch.cat([getattr(row, name) for row in rows]).to(
            torch.int32 if name in INTEGER_COLUMNS else torch.float32
        )
        for name in TOKEN_COLUMNS
    }
    tensors["row_lengths"] = torch.tensor([len(row) for row in rows], dtype=torch.int64)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))


def load_batch(path: Path) -> list[PackedRow]:
    try:
        tensors = load_file(str(path))
    except (OSError, ValueError) as err:
        raise BatchFileError(f"{path}: not a readable safetensors file ({err})") from err
    except Exception as err:  # safetensors raises its own SafetensorError for malformed headers
        raise BatchFileError(f"{path}: not a readable safetensors file ({err})") from err
    missing = [name for name in (*TOKEN_COLUMNS, "row_lengths") if name not in tensors]
    if missing:
        raise BatchFileError(f"{path}: missing column(s) {', '.join(missing)}")
    lengths = tensors["row_lengths"]
    total = int(tensors["token_ids"].shape[0])
    for name in TOKEN_COLUMNS:
        column = tensors[name]
        if column.dim() != 1 or column.shape[0] != total:
            raise BatchFileError(f"{path}: column {name} has shape {tuple(column.shape)}, expected ({total},)")
        if (name in INTEGER_COLUMNS) == column.is_floating_point():
            raise BatchFileError(f"{path}: column {name} has dtype {column.dtype}")
    if lengths.dim() != 1 or lengths.numel() == 0 or bool((lengths < 2).any()) or int(lengths.sum()) != total:
        raise BatchFileError(f"{path}: row_lengths must be ≥ 2 each and sum to {total}")
    bounds = torch.cumsum(lengths, 0).tolist()
    starts = [0, *bounds[:-1]]
    return [
        PackedRow(**{name: tensors[name][start:end] for name in TOKEN_COLUMNS})
        for start, end in zip(starts, bounds, strict=True)
    ]
