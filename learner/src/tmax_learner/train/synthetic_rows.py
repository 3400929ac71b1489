"""Synthetic packed rows for tests and benchmarks, laid out as src/rl/packing.ts packs rollouts (position ids restart
per trajectory, response mask = trajectory index + 1, the behaviour-logprob sentinel 1.0 off sampled tokens)."""

from dataclasses import dataclass

import torch

from tmax_learner.train.packed_batch import PackedRow

SENTINEL = 1.0


@dataclass(frozen=True)
class Trajectory:
    prompt: list[int]
    response: list[int]
    behaviour_logprobs: list[float]
    advantage: float


def random_trajectory(
    generator: torch.Generator, prompt_len: int, response_len: int, advantage: float, vocab: int = 1000
) -> Trajectory:
    ids = torch.randint(0, vocab, (prompt_len + response_len,), generator=generator).tolist()
    logprobs = (-torch.rand(response_len, generator=generator) * 3 - 9).tolist()
    return Trajectory(ids[:prompt_len], ids[prompt_len:], logprobs, advantage)


def pack_row(trajectories: list[Trajectory], first_index: int = 0, pad_to: int = 0, pad_id: int = 0) -> PackedRow:
    ids: list[int] = []
    positions: list[int] = []
    documents: list[int] = []
    mask: list[int] = []
    logprobs: list[float] = []
    advantages: list[float] = []
    for offset, t in enumerate(trajectories):
        number = first_index + offset + 1
        length = len(t.prompt) + len(t.response)
        ids += t.prompt + t.response
        positions += list(range(length))
        documents += [number] * length
        mask += [0] * len(t.prompt) + [number] * len(t.response)
        logprobs += [SENTINEL] * len(t.prompt) + t.behaviour_logprobs
        advantages += [0.0] * len(t.prompt) + [t.advantage] * len(t.response)
    padding = max(0, pad_to - len(ids))
    last = positions[-1] + 1 if positions else 0
    ids += [pad_id] * padding
    positions += list(range(last, last + padding))
    documents += [0] * padding
    mask += [0] * padding
    logprobs += [SENTINEL] * padding
    advantages += [0.0] * padding
    return PackedRow(
        token_ids=torch.tensor(ids, dtype=torch.int32),
        position_ids=torch.tensor(positions, dtype=torch.int32),
        document_ids=torch.tensor(documents, dtype=torch.int32),
        response_mask=torch.tensor(mask, dtype=torch.int32),
        behaviour_logprobs=torch.tensor(logprobs, dtype=torch.float32),
        advantages=torch.tensor(advantages, dtype=torch.float32),
    )
