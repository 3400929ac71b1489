"""The reference inference server's HTTP side: vLLM's OpenAI-compatible /v1/completions, /v1/chat/completions and
/v1/models, its probes (/health, /ping, /version) and its dev-mode RL control plane (/pause, /resume, /is_paused,
/abort_requests, /init_weight_transfer_engine, /start_weight_update, /update_weights, /finish_weight_update,
/update_weight_version, /weight_info, /get_world_size, /reset_prefix_cache), as vLLM 0.33 serves them with
`--weight-transfer-config '{"backend": "disk"}'` (INFERENCE.md lists each one).

HTTP stack: the standard library's ThreadingHTTPServer (one thread per connection, HTTP/1.1 keep-alive). The server
is a CPU reference for tests and toy runs, with a dozen JSON endpoints and the engine's single worker thread doing
all model work, so a framework (and a pinned dependency tree for it) would buy nothing. Handler threads only parse,
wait and render; while one waits for its completion it watches its socket and aborts the request if the client
went away, as vLLM does.
"""

import json
import select
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, PreTrainedTokenizerBase

from tmax_learner import __version__
from tmax_learner.inference.chat import chat_response, chat_to_completion
from tmax_learner.inference.engine import (
    PAUSE_MODES,
    EngineStateError,
    GenerationResult,
    InferenceEngine,
    PauseMode,
)
from tmax_learner.inference.protocol import (
    ApiError,
    CompletionCall,
    ModelLimits,
    completion_response,
    parse_completion,
)
from tmax_learner.inference.weights import WeightLoadError

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class ServedModel:
    model_dir: Path
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase | None
    limits: ModelLimits
    # A fast tokenizer is not safe to share between threads (encoding sets its truncation state: "Already borrowed").
    _tokenizer_lock: threading.Lock = field(default_factory=threading.Lock)

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        assert self.tokenizer is not None
        with self._tokenizer_lock:
            return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def render(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, kwargs: dict[str, Any]
    ) -> list[int]:
        """The chat template's token ids for a conversation, with the generation prompt."""
        assert self.tokenizer is not None
        tool_list: list[dict[Any, Any] | Callable[..., Any]] | None = list(tools) if tools else None
        with self._tokenizer_lock:
            ids = self.tokenizer.apply_chat_template(
                messages, tools=tool_list, add_generation_prompt=True, tokenize=True, return_dict=False, **kwargs
            )
        tokens = [x for x in ids if isinstance(x, int)] if isinstance(ids, list) else []
        if not tokens or len(tokens) != len(ids):
            raise ValueError("the chat template did not give a list of token ids")
        return tokens

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        assert self.tokenizer is not None
        with self._tokenizer_lock:
            return str(self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens))


def _ids(value: object) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        return [x for x in value if isinstance(x, int) and not isinstance(x, bool)]
    return []


def load_served_model(model_dir: Path, served_names: tuple[str, ...], max_model_len: int | None = None) -> ServedModel:
    """The model in fp32 on CPU (eval mode, SDPA attention), its tokenizer when the dir has one, and its limits: the
    vocabulary (embedding rows), the context length (config's max_position_embeddings unless `max_model_len`), the
    EOS ids (the tokenizer's, plus those of generation_config.json and config.json) and the sampling defaults of
    generation_config.json (vLLM's --generation-config auto)."""
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="sdpa")
    model.eval()  # type: ignore[no-untyped-call]
    config = model.config
    tokenizer: PreTrainedTokenizerBase | None = None
    if (model_dir / "tokenizer.json").is_file() or (model_dir / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    generation: GenerationConfig | None = None
    if (model_dir / "generation_config.json").is_file():
        generation = GenerationConfig.from_pretrained(str(model_dir))
    eos_candidates = [
        *_ids(getattr(generation, "eos_token_id", None)),
        *_ids(getattr(config, "eos_token_id", None)),
    ]
    tokenizer_eos = tokenizer.eos_token_id if tokenizer is not None else None
    primary = tokenizer_eos if isinstance(tokenizer_eos, int) else (eos_candidates[0] if eos_candidates else None)
    embeddings = model.get_input_embeddings()
    vocab_size = int(embeddings.weight.shape[0]) if isinstance(embeddings, torch.nn.Embedding) else config.vocab_size
    context = int(getattr(config, "max_position_embeddings", 0) or 0)
    if max_model_len is not None:
        if context and max_model_len > context:
            raise ValueError(f"--max-model-len {max_model_len} exceeds the model's {context} positions")
        context = max_model_len
    if context < 2:
        raise ValueError(f"{model_dir}: config.json has no max_position_embeddings: pass --max-model-len")

    def default(name: str, fallback: float) -> float:
        value = getattr(generation, name, None)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else fallback

    limits = ModelLimits(
        served_names=served_names,
        vocab_size=vocab_size,
        max_model_len=context,
        eos_id=primary,
        extra_eos_ids=frozenset(eos_candidates) - ({primary} if primary is not None else set()),
        default_temperature=default("temperature", 1.0),
        default_top_p=default("top_p", 1.0),
        default_top_k=max(int(default("top_k", 0)), 0) if generation is not None and generation.do_sample else 0,
    )
    return ServedModel(model_dir, model, tokenizer, limits)


def _peer_closed(connection: socket.socket) -> bool:
    """True once the client closed its end (readable with nothing to read). A pipelined next request also makes the
    socket readable; it is left unread."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        return connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "InferenceHttpServer"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _reply(self, status: int, body: object | None) -> None:
        payload = b"" if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(400, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ApiError(400, f"Invalid JSON format: {err}") from err

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route = self.server.routes.get((method, url.path))
        try:
            body = self._body() if method == "POST" else None
            if route is None:
                known = any(path == url.path for _, path in self.server.routes)
                raise ApiError(405 if known else 404, f"{method} {url.path} is not served here")
            status, reply = route(self, body, query)
        except ApiError as err:
            status, reply = err.status, err.body()
        except WeightLoadError as err:
            status, reply = 400, ApiError(400, str(err)).body()
        except EngineStateError as err:
            status, reply = 409, ApiError(409, str(err)).body()
        except Exception as err:  # a bug here must not kill the connection thread silently
            status, reply = 500, ApiError(500, f"{type(err).__name__}: {err}").body()
        if status == 0:
            return  # the client went away; nothing to send
        self._reply(status, reply)


Reply = tuple[int, object | None]


class InferenceHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (a cancelled rollout, a stopped trainer) is routine, not a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], served: ServedModel, engine: InferenceEngine, log_requests: bool):
        super().__init__(address, _Handler)
        self.served = served
        self.engine = engine
        self.log_requests = log_requests
        self._inflight_lock = threading.Lock()
        self._inflight: dict[str, list[Any]] = {}
        get, post = "GET", "POST"
        self.routes: dict[tuple[str, str], Any] = {
            (get, "/health"): lambda h, b, q: (200, None),
            (get, "/ping"): lambda h, b, q: (200, None),
            (post, "/ping"): lambda h, b, q: (200, None),
            (get, "/version"): lambda h, b, q: (200, {"version": __version__, "server": "tmax-reference"}),
            (get, "/v1/models"): self._models,
            (post, "/v1/completions"): self._completions,
            (post, "/v1/chat/completions"): self._chat_completions,
            (post, "/pause"): self._pause,
            (post, "/resume"): self._resume,
            (get, "/is_paused"): lambda h, b, q: (200, {"is_paused": self.engine.is_paused}),
            (post, "/abort_requests"): self._abort_requests,
            (post, "/init_weight_transfer_engine"): self._init_weight_transfer,
            (post, "/start_weight_update"): self._start_weight_update,
            (post, "/update_weights"): self._update_weights,
            (post, "/finish_weight_update"): self._finish_weight_update,
            (post, "/update_weight_version"): self._update_weight_version,
            (get, "/weight_info"): lambda h, b, q: (200, {"weight_version": self.engine.weight_version}),
            (get, "/get_world_size"): lambda h, b, q: (200, {"world_size": 1}),
            (post, "/reset_prefix_cache"): lambda h, b, q: (200, None),
        }

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def _models(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        limits = self.served.limits
        cards = [
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "tmax",
                "root": str(self.served.model_dir),
                "parent": None,
                "max_model_len": limits.max_model_len,
            }
            for name in limits.served_names
        ]
        return 200, {"object": "list", "data": cards}

    def _completions(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        served = self.served
        has_tokenizer = served.tokenizer is not None
        call = parse_completion(body, served.limits, served.encode if has_tokenizer else None)
        response_id = f"cmpl-{uuid.uuid4().hex}"
        results = self._generate(handler, call, response_id)
        if results is None:
            return 0, None
        return 200, completion_response(call, results, served.decode if has_tokenizer else None, response_id)

    def _chat_completions(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        served = self.served
        render = served.render if served.tokenizer is not None else None
        call = parse_completion(chat_to_completion(body, render, served.limits.max_model_len), served.limits)
        response_id = f"chatcmpl-{uuid.uuid4().hex}"
        results = self._generate(handler, call, response_id)
        if results is None:
            return 0, None
        return 200, chat_response(call, results, served.decode, response_id)

    def _generate(self, handler: _Handler, call: CompletionCall, response_id: str) -> list[GenerationResult] | None:
        """Runs the call's requests; None when the client went away (they were aborted)."""
        keys = [response_id] + ([call.request_id] if call.request_id else [])
        try:
            sequences = [self.engine.submit(request) for request in call.requests]
        except EngineStateError as err:
            raise ApiError(503, str(err)) from err
        with self._inflight_lock:
            for key in keys:
                self._inflight.setdefault(key, []).extend(sequences)
        try:
            results = []
            for sequence in sequences:
                result = self.engine.wait(sequence, lambda: _peer_closed(handler.connection))
                if result is None:
                    for other in sequences:
                        self.engine.abort(other)
                    handler.close_connection = True
                    return None
                if result.error is not None:
                    raise ApiError(500, f"generation failed: {result.error}")
                results.append(result)
        finally:
            with self._inflight_lock:
                for key in keys:
                    self._inflight.pop(key, None)
        return results

    def _pause(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        mode = query.get("mode", "abort")
        if query.get("wait_for_inflight_requests", "false").lower() == "true":
            mode = "wait"  # vLLM's deprecated spelling of mode=wait
        if mode not in PAUSE_MODES:
            raise ApiError(400, f"mode must be one of {', '.join(PAUSE_MODES)}, not {mode!r}", "mode")
        pause_mode: PauseMode = mode
        self.engine.pause(pause_mode)
        return 200, {"status": "paused"}

    def _resume(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        self.engine.resume()
        return 200, {"status": "resumed"}

    def _abort_requests(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        ids = body.get("request_ids") if isinstance(body, dict) else None
        if ids:
            if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
                raise ApiError(400, "request_ids must be a list of strings", "request_ids")
            with self._inflight_lock:
                sequences = [s for key in ids for s in self._inflight.get(key, [])]
            for sequence in sequences:
                self.engine.abort(sequence)
            return 200, {"status": "aborted", "aborted": len(ids)}
        return 200, {"status": "aborted", "aborted": self.engine.abort_all()}

    def _init_weight_transfer(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("init_info"), dict):
            raise ApiError(400, "Missing 'init_info' in request body", "init_info")
        if body["init_info"]:
            raise ApiError(400, "the disk backend takes no init_info (send {})", "init_info")
        return 200, {"message": "Weight transfer initialized"}

    def _start_weight_update(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        self.engine.start_weight_update()
        return 200, {"message": "Weight update started"}

    def _update_weights(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        info = body.get("update_info") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            raise ApiError(400, "Missing 'update_info' in request body", "update_info")
        unknown = sorted(set(info) - {"path"})
        if unknown or not isinstance(info.get("path"), str):
            raise ApiError(
                400, 'update_info for the disk backend is {"path": <absolute safetensors dir>}', "update_info"
            )
        self.engine.update_weights(info["path"])
        return 200, {"message": "Weights updated", "weight_version": self.engine.weight_version}

    def _finish_weight_update(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        version = body.get("weight_version") if isinstance(body, dict) else None
        if version is not None and not isinstance(version, str):
            raise ApiError(400, "weight_version must be a string", "weight_version")
        label = self.engine.finish_weight_update(version)
        return 200, {"message": "Weight update finished", "weight_version": label}

    def _update_weight_version(self, handler: _Handler, body: object, query: dict[str, str]) -> Reply:
        version = body.get("new_version") if isinstance(body, dict) else None
        if not isinstance(version, str):
            raise ApiError(400, "new_version (a string) is required", "new_version")
        self.engine.update_weight_version(version)
        return 200, {"success": True, "new_version": version}


def make_server(
    served: ServedModel,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    seed: int = 0,
    weight_version: str = "0",
    max_num_seqs: int = 64,
    log_requests: bool = False,
    batch_decode: bool = False,
) -> InferenceHttpServer:
    engine = InferenceEngine(
        served.model,
        seed=seed,
        weight_version=weight_version,
        max_running=max_num_seqs,
        batch_decode=batch_decode,
    )
    try:
        return InferenceHttpServer((host, port), served, engine, log_requests)
    except BaseException:
        engine.close()
        raise
