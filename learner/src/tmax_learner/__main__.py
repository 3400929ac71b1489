"""`python -m tmax_learner <command>`: the learner's command line, driven by the tmax CLI.

Exit codes as tmax's: 0 success, 1 failure (including an input file that cannot be used), 2 usage error.
"""

import argparse
import json
import sys
from pathlib import Path

from tmax_learner.loss_check import LossCheckInputError, loss_check
from tmax_learner.train.loss_kind import LOSS_KINDS


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
    tiny.add_argument("--layers", type=int, default=None, help="decoder layers (default 2)")
    tiny.add_argument("--hidden", type=int, default=None, help="hidden size (default 64)")
    tiny.add_argument("--intermediate", type=int, default=None, help="MLP size (default 2 * hidden)")
    tiny.add_argument("--heads", type=int, default=None, help="attention heads; head dim = hidden / heads (default 4)")
    tiny.add_argument("--kv-heads", type=int, default=None, help="key/value heads (default 2)")
    server = commands.add_parser("serve", help="train on batch files named by JSON-lines messages (PROTOCOL.md)")
    server.add_argument("--model-dir", type=Path, required=True, help="the Hugging Face model dir to start from")
    server.add_argument("--out-dir", type=Path, required=True, help="where checkpoints go")
    server.add_argument("--loss", choices=LOSS_KINDS, default="dppo")
    server.add_argument("--delta", type=float, default=0.1, help="DPPO trust-region delta")
    server.add_argument("--lr", type=float, default=1e-6)
    server.add_argument("--weight-decay", type=float, default=0.0)
    server.add_argument("--max-grad-norm", type=float, default=None, help="clip to this norm (default: no clipping)")
    server.add_argument("--hf-every", type=int, default=20, help="HF checkpoint every N applied steps")
    server.add_argument("--resume-every", type=int, default=10, help="resume state every M applied steps")
    server.add_argument("--keep-resume", type=int, default=3, help="resume states kept")
    server.add_argument("--resume-from", type=Path, default=None, help="a resume dir (out-dir/resume/step_N)")
    server.add_argument("--head-chunk-size", type=int, default=1024, help="tokens per fp32 LM-head chunk")
    server.add_argument(
        "--sharding",
        choices=("auto", "fsdp2", "replicate"),
        default="auto",
        help="under torchrun: FSDP2 or a full replica per rank (auto: FSDP2 on GPUs, replicas on CPU)",
    )
    inference = commands.add_parser(
        "serve-inference",
        help="serve a model dir on vLLM's /v1/completions with vLLM's RL control endpoints (INFERENCE.md)",
    )
    inference.add_argument("--model-dir", type=Path, required=True, help="the Hugging Face model dir to serve")
    inference.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    inference.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    inference.add_argument(
        "--served-model-name", nargs="+", default=["default"], help="names requests may use (default: default)"
    )
    inference.add_argument("--seed", type=int, default=0, help="seed for requests that carry none")
    inference.add_argument("--max-model-len", type=int, default=None, help="context length (default: the model's)")
    inference.add_argument("--weight-version", default="0", help="the initial weight-version label")
    inference.add_argument("--max-num-seqs", type=int, default=64, help="requests decoded at once (round robin)")
    inference.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: fastest for small models on shared cores)"
    )
    inference.add_argument(
        "--batch-decode",
        action="store_true",
        help="one LM-head product per step over all running requests: faster, reproducible only up to float noise",
    )
    inference.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes (for a parent)")
    inference.add_argument("--log-requests", action="store_true", help="log each HTTP request on stderr")
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
        from tmax_learner.model.tiny_model import make_tiny_model, tiny_dims

        try:
            dims = tiny_dims(args.layers, args.hidden, args.intermediate, args.heads, args.kv_heads)
            make_tiny_model(args.out, args.tokenizer_dir, seed=args.seed, dims=dims)
        except (OSError, ValueError) as err:
            print(f"make-tiny-model: {err}", file=sys.stderr)
            return 1
        print(json.dumps({"model_dir": str(args.out)}))
        return 0
    if args.command == "serve":
        from tmax_learner.control_server import ServerOptions, serve
        from tmax_learner.train.checkpoints import CheckpointSchedule
        from tmax_learner.train.train_step import TrainConfig

        try:
            config = TrainConfig(
                loss=args.loss,
                delta=args.delta,
                learning_rate=args.lr,
                weight_decay=args.weight_decay,
                max_grad_norm=args.max_grad_norm,
            )
            schedule = CheckpointSchedule(args.hf_every, args.resume_every, args.keep_resume)
        except ValueError as err:
            parser.error(str(err))
        options = ServerOptions(
            args.model_dir, args.out_dir, config, schedule, args.resume_from, args.head_chunk_size, args.sharding
        )
        return serve(options)
    if args.command == "serve-inference":
        from tmax_learner.inference.run import InferenceOptions, serve_inference

        if not 0 <= args.port <= 65535:
            parser.error(f"--port must be from 0 to 65535, not {args.port}")
        if args.threads < 1 or args.max_num_seqs < 1 or (args.max_model_len is not None and args.max_model_len < 2):
            parser.error("--threads and --max-num-seqs must be at least 1, --max-model-len at least 2")
        return serve_inference(
            InferenceOptions(
                model_dir=args.model_dir,
                host=args.host,
                port=args.port,
                served_model_names=tuple(args.served_model_name),
                seed=args.seed,
                max_model_len=args.max_model_len,
                weight_version=args.weight_version,
                max_num_seqs=args.max_num_seqs,
                log_requests=args.log_requests,
                threads=args.threads,
                exit_with_stdin=args.exit_with_stdin,
                batch_decode=args.batch_decode,
            )
        )
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
