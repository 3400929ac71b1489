"""`python -m tmax_learner serve-inference`: load the model, bind, announce, serve until SIGINT / SIGTERM.

Once listening, one JSON line goes to stdout — {"event": "ready", "url", "host", "port", "model", "served_names",
"weight_version", "max_model_len", "pid"} — and nothing else ever does (`tmax serve` reads it; with --port 0 it is the
only way to learn the port). Logs go to stderr. On SIGINT or SIGTERM (or, with --exit-with-stdin, when stdin closes)
the server stops accepting connections, aborts what is still running (finish reason "abort") and exits 0.
"""

import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import torch
from transformers.utils import logging as hf_logging

from tmax_learner.inference.server import load_served_model, make_server


@dataclass(frozen=True)
class InferenceOptions:
    model_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    served_model_names: tuple[str, ...] = ("default",)
    seed: int = 0
    max_model_len: int | None = None
    weight_version: str = "0"
    max_num_seqs: int = 64
    log_requests: bool = False
    threads: int = 1
    batch_decode: bool = False
    exit_with_stdin: bool = False
    """Stop when stdin reaches EOF: a parent that starts the server with a pipe on stdin never leaves it orphaned."""


def serve_inference(options: InferenceOptions) -> int:
    """Serves until SIGINT / SIGTERM (their handlers, and torch's thread count, are this function's while it runs);
    0 then, 1 when the model cannot be loaded or the address not bound."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    threads = torch.get_num_threads()
    try:
        return _serve(options, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        torch.set_num_threads(threads)


def _serve(options: InferenceOptions, stop: threading.Event) -> int:
    torch.set_num_threads(options.threads)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        served = load_served_model(options.model_dir, options.served_model_names, options.max_model_len)
    except (OSError, ValueError) as err:
        print(f"serve-inference: {options.model_dir}: {err}", file=sys.stderr)
        return 1
    try:
        server = make_server(
            served,
            options.host,
            options.port,
            seed=options.seed,
            weight_version=options.weight_version,
            max_num_seqs=options.max_num_seqs,
            log_requests=options.log_requests,
            batch_decode=options.batch_decode,
        )
    except OSError as err:
        print(f"serve-inference: cannot listen on {options.host}:{options.port}: {err}", file=sys.stderr)
        return 1
    if options.exit_with_stdin:

        def watch_stdin() -> None:
            # The raw descriptor, not sys.stdin: a thread blocked in a buffered read holds its lock, and interpreter
            # shutdown then aborts waiting for it.
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    host = options.host if ":" not in options.host else f"[{options.host}]"
    url = f"http://{host}:{server.port}/v1"
    ready = {
        "event": "ready",
        "url": url,
        "host": options.host,
        "port": server.port,
        "model": str(options.model_dir),
        "served_names": list(options.served_model_names),
        "weight_version": server.engine.weight_version,
        "max_model_len": served.limits.max_model_len,
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)
    print(
        f"serve-inference: {options.model_dir} as {', '.join(options.served_model_names)} on {url} "
        f"(context {served.limits.max_model_len}, vocabulary {served.limits.vocab_size}, EOS {served.limits.eos_id})",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    server.shutdown()
    server.engine.close()
    server.server_close()
    stats = server.engine.stats()
    rate = stats["tokens_sampled"] / stats["step_seconds"] if stats["step_seconds"] else 0.0
    print(f"serve-inference: stopped; {stats['tokens_sampled']} tokens sampled ({rate:.1f} tokens/s)", file=sys.stderr)
    return 0
