"""One learner step of the tiny model on one packed row, in a process of its own so its peak memory is its own.

    python bench/learner/learner_step.py MODEL_DIR PACK_LENGTH HEAD_CHUNK

Prints one JSON line: tokens, seconds, tokens_per_second, peak_rss_mb (the process's peak resident memory).
A head chunk of at least the pack length is the dense path: the whole [T, vocab] logits at once.
"""

import json
import resource
import sys
import time
from pathlib import Path

import torch
from tmax_learner.model.policy_model import load_policy_model
from tmax_learner.train.packed_batch import PackedRow
from tmax_learner.train.synthetic_rows import pack_row, random_trajectory
from tmax_learner.train.train_step import TrainConfig, make_optimizer, train_step


def row(length: int, vocab: int) -> PackedRow:
    """Four trajectories of equal length, a quarter of each the prompt, like a packed RL row."""
    generator = torch.Generator().manual_seed(0)
    per = length // 4
    trajectories = [
        random_trajectory(
            generator, per // 4, per - per // 4, 0.5 if t % 2 == 0 else -0.5, vocab
        )
        for t in range(4)
    ]
    return pack_row(trajectories)


def main() -> None:
    model_dir, pack_length, head_chunk = (
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
    )
    policy = load_policy_model(
        model_dir, device=torch.device("cpu"), head_chunk_size=head_chunk
    )
    config = TrainConfig(loss="dppo", learning_rate=1e-6)
    optimizer = make_optimizer(policy, config)
    batch = [row(pack_length, policy.model.config.vocab_size)]
    started = time.perf_counter()
    report = train_step(policy, optimizer, batch, config)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "tokens": report.row_tokens,
                "seconds": seconds,
                "tokens_per_second": report.row_tokens / seconds,
                "peak_rss_mb": peak_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
