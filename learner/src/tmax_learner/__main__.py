"""`python -m tmax_learner <command>`: the learner's command line, driven by the tmax CLI.

Exit codes as tmax's: 0 success, 1 failure (including an input file that cannot be used), 2 usage error.
"""

import argparse
import json
import sys
from pathlib import Path

from tmax_learner.loss_check import LossCheckInputError, loss_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tmax_learner", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("loss-check", help="run the loss code on golden-vector cases and print JSON")
    check.add_argument("file", type=Path, help="cases file (JSON)")
    tiny = commands.add_parser("make-tiny-model", help="write a seeded, randomly initialised tiny Qwen3 model dir")
    tiny.add_argument("out", type=Path, help="the model dir to write")
    tiny.add_argument(
        "--tokenizer-dir", type=Path, required=True, help="a dir with tokenizer.json, tokenizer_config.json"
    )
    tiny.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "loss-check":
        path: Path = args.file
        try:
            report = loss_check(path)
        except (LossCheckInputError, OSError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            print(f"loss-check: {path}: {reason}", file=sys.stderr)
            return 1
        print(json.dumps(report, indent=2, allow_nan=False))
        return 0
    if args.command == "make-tiny-model":
        from tmax_learner.model.tiny_model import make_tiny_model

        try:
            make_tiny_model(args.out, args.tokenizer_dir, seed=args.seed)
        except (OSError, ValueError) as err:
            print(f"make-tiny-model: {err}", file=sys.stderr)
            return 1
        print(json.dumps({"model_dir": str(args.out)}))
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
