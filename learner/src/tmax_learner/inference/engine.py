"""The generation engine behind the reference server: one worker thread decodes every admitted request, each with its
own KV cache (the prompt is prefilled once and every sampled token is fed once), so concurrent requests never share
state.

Two ways to step: by default one request per step, in round-robin order, with the model's own forward pass — a
request's output then depends only on its prompt, sampling parameters, seed and the weights in effect at each step,
bit for bit, however many requests run at once. With `batch_decode` each step runs the transformer body of every
running request one after another and then one LM-head matrix product over all of them: several times faster when
many requests run (the head's weight matrix, vocabulary by hidden size, is read once per step instead of once per
request), but, as in vLLM, the logits then differ in the last bits with the batch's composition, so a seeded
request is reproducible only up to that noise. Either way a token's logprob is computed from the very logits it was
sampled from.

Control, as vLLM's (dev-mode) engine offers it for RL:

* `pause("keep")` freezes every request between two tokens — running ones keep their KV cache and waiting ones
  stay queued; new requests queue too. Nothing is dropped, nothing is recomputed ("pause without draining").
* `pause("wait")` lets every request submitted so far run to its end, holding new ones back, then pauses.
* `pause("abort")` ends every submitted request at once with finish reason "abort" (and the tokens so far) and holds
  new ones back.
* `resume()` releases all of that. Tokens sampled after a weight update come from the new weights; KV cached under
  the old weights is kept (vLLM's keep mode keeps it too).
* Weight updates (`start_weight_update` / `update_weights` / `finish_weight_update`, vLLM's weight-transfer calls with
  its disk backend) stage and check the whole checkpoint first, then copy it in between two decoding steps, with
  the new weight-version label; a failed check changes nothing. Every sampled token is labelled with the version
  in effect when it was sampled (vLLM's `weight_versions` spans).
"""

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from tmax_learner.inference.sampling import StepSampling, draw, mask_ids, processed_logprobs
from tmax_learner.inference.weights import StagedWeights, apply_weights, stage_weights

PauseMode = Literal["abort", "wait", "keep"]
PAUSE_MODES: tuple[PauseMode, ...] = ("abort", "wait", "keep")
FinishReason = Literal["stop", "length", "abort"]


class EngineStateError(RuntimeError):
    """A control call out of order (e.g. finish_weight_update without start_weight_update): HTTP 409."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt_ids: list[int]
    max_tokens: int
    sampling: StepSampling
    seed: int | None
    stop_ids: frozenset[int]
    """Sampling one of these ends the request with finish reason "stop" (EOS ids, then the request's stop ids)."""
    eos_ids: frozenset[int]
    """The subset of stop_ids that are EOS: stop_reason null, as vLLM reports EOS; other stop ids are reported."""
    min_tokens: int = 0
    top_logprobs: int = 0
    """How many of the most likely tokens to report at each position besides the sampled one."""


@dataclass(frozen=True)
class WeightVersionSpan:
    version: str
    start: int
    end: int


@dataclass
class GenerationResult:
    ids: list[int]
    logprobs: list[float]
    top: list[list[tuple[int, float]]]
    finish_reason: FinishReason
    stop_reason: int | None
    weight_versions: list[WeightVersionSpan]
    error: str | None = None


@dataclass(eq=False)  # identity: two requests with the same fields are still two requests
class _Sequence:
    request: GenerationRequest
    generator: torch.Generator | None
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    top: list[list[tuple[int, float]]] = field(default_factory=list)
    versions: list[WeightVersionSpan] = field(default_factory=list)
    cache: Any = None
    prefilled: bool = False
    abort_requested: bool = False
    result: GenerationResult | None = None
    done: threading.Event = field(default_factory=threading.Event)


class InferenceEngine:
    def __init__(
        self,
        model: torch.nn.Module,
        *,
        seed: int = 0,
        weight_version: str = "0",
        max_running: int = 64,
        batch_decode: bool = False,
    ) -> None:
        self._model = model
        self._shared_generator = torch.Generator().manual_seed(seed)
        self._weight_version = weight_version
        self._max_running = max_running
        self._tokens_sampled = 0
        self._step_seconds = 0.0
        self._cond = threading.Condition()
        self._waiting: deque[_Sequence] = deque()
        self._held: list[_Sequence] = []
        self._running: list[_Sequence] = []
        self._cursor = 0
        self._busy: list[_Sequence] = []
        self._body, self._batch_head = _split_for_batching(model) if batch_decode else (model, None)
        self._paused = False
        self._gate_closed = False
        self._closed = False
        self._session_open = False
        self._staged: StagedWeights | None = None
        self._worker = threading.Thread(target=self._run, name="tmax-inference-engine", daemon=True)
        self._worker.start()

    # --- requests -------------------------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> _Sequence:
        generator = None
        if not request.sampling.greedy:
            if request.seed is None:
                with self._cond:
                    seed = int(torch.randint(0, 2**62, (1,), generator=self._shared_generator).item())
            else:
                seed = request.seed
            generator = torch.Generator().manual_seed(seed)
        sequence = _Sequence(request, generator)
        with self._cond:
            if self._closed:
                raise EngineStateError("the server is shutting down")
            (self._held if self._gate_closed else self._waiting).append(sequence)
            self._cond.notify_all()
        return sequence

    def wait(
        self, sequence: _Sequence, gone: Callable[[], bool] = lambda: False, poll: float = 0.2
    ) -> GenerationResult | None:
        """The request's result; None when `gone()` (the client disconnected) turned true first — the request was
        then aborted, as vLLM aborts a request whose client went away."""
        while not sequence.done.wait(poll):
            if gone():
                self.abort(sequence)
                return None
        return sequence.result

    def abort(self, sequence: _Sequence) -> None:
        with self._cond:
            self._abort_locked(sequence)

    def abort_all(self) -> int:
        with self._cond:
            everything = [*self._running, *self._waiting, *self._held]
            for sequence in everything:
                self._abort_locked(sequence)
            return len(everything)

    def _abort_locked(self, sequence: _Sequence) -> None:
        if sequence.result is not None:
            return
        sequence.abort_requested = True
        if sequence not in self._busy:
            self._finish_locked(sequence, "abort", None)

    # --- pause / resume -------------------------------------------------------------------------------------------

    def pause(self, mode: PauseMode) -> None:
        """Returns once the engine is paused: no decoding step is running and none starts until resume()."""
        with self._cond:
            if mode == "keep":
                self._paused = True
            elif mode == "wait":
                self._gate_closed = True
                while self._running or self._waiting:
                    self._cond.wait()
                self._paused = True
            else:
                self._gate_closed = True
                self._paused = True
                for sequence in [*self._running, *self._waiting]:
                    self._abort_locked(sequence)
            while self._busy:
                self._cond.wait()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._gate_closed = False
            self._waiting.extend(self._held)
            self._held.clear()
            self._cond.notify_all()

    @property
    def is_paused(self) -> bool:
        with self._cond:
            return self._paused or self._gate_closed

    # --- weights --------------------------------------------------------------------------------------------------

    @property
    def weight_version(self) -> str:
        with self._cond:
            return self._weight_version

    def update_weight_version(self, version: str) -> None:
        with self._cond:
            self._weight_version = version

    def start_weight_update(self) -> None:
        with self._cond:
            if self._session_open:
                raise EngineStateError("a weight update is already in progress (finish_weight_update ends it)")
            self._session_open = True
            self._staged = None

    def update_weights(self, path: str) -> None:
        """Inside a start/finish session: stages the checkpoint (applied by finish_weight_update); a checkpoint that
        fails the checks ends the session. Outside one (vLLM's older init + update protocol): stages and applies it
        at once, with the next version label."""
        with self._cond:
            in_session = self._session_open
            if in_session and self._staged is not None:
                raise EngineStateError("a checkpoint was already loaded in this weight update session")
        try:
            staged = stage_weights(self._model, path)  # outside the lock: decoding goes on while the files are read
        except Exception:
            if in_session:
                with self._cond:  # as vLLM's disk backend: a failed load ends the session (nothing was applied)
                    self._session_open, self._staged = False, None
            raise
        with self._cond:
            if in_session:
                if not self._session_open:
                    raise EngineStateError("the weight update session ended while the checkpoint was read")
                self._staged = staged
                return
            self._apply_locked(staged, None)

    def finish_weight_update(self, version: str | None) -> str:
        with self._cond:
            if not self._session_open:
                raise EngineStateError("no weight update in progress (start_weight_update begins one)")
            staged, self._staged, self._session_open = self._staged, None, False
            if staged is None:
                raise EngineStateError("no checkpoint was loaded during the weight update session")
            return self._apply_locked(staged, version)

    def _apply_locked(self, staged: StagedWeights, version: str | None) -> str:
        while self._busy:
            self._cond.wait()
        apply_weights(self._model, staged)  # the worker cannot start a step while this thread holds the lock
        self._weight_version = version if version is not None else _next_version(self._weight_version)
        return self._weight_version

    def stats(self) -> dict[str, float | int]:
        """Tokens sampled so far and the seconds spent in decoding steps (their ratio is the engine's tokens/s)."""
        with self._cond:
            return {
                "tokens_sampled": self._tokens_sampled,
                "step_seconds": self._step_seconds,
                "running": len(self._running),
                "waiting": len(self._waiting) + len(self._held),
            }

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for sequence in [*self._running, *self._waiting, *self._held]:
                self._abort_locked(sequence)
            self._cond.notify_all()
        self._worker.join(timeout=30)

    # --- the worker -----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._paused or not (self._running or self._waiting)):
                    self._cond.wait()
                if self._closed:
                    return
                while self._waiting and len(self._running) < self._max_running:
                    self._running.append(self._waiting.popleft())
                if self._batch_head is not None:
                    batch = list(self._running)
                else:
                    batch = [self._running[self._cursor % len(self._running)]]
                    self._cursor += 1
                self._busy = batch
                version = self._weight_version
            started = time.perf_counter()
            outcomes = self._step_round(batch)
            with self._cond:
                self._busy = []
                self._tokens_sampled += sum(1 for token, _ in outcomes if token is not None)
                self._step_seconds += time.perf_counter() - started
                for sequence, (token, error) in zip(batch, outcomes, strict=True):
                    if token is None:
                        self._finish_locked(sequence, "abort", None, error)
                    else:
                        self._record_locked(sequence, token, version)
                self._cond.notify_all()

    @torch.inference_mode()
    def _step_round(self, batch: list[_Sequence]) -> list[tuple[int | None, str | None]]:
        """One decoding step of every sequence of the round: a forward pass over what it has not fed yet (the prompt,
        or its last sampled token) and one sampled token. Returns (token, None) or (None, error) per sequence; a
        failing forward pass fails its request, not the server."""
        rows: list[torch.Tensor | None] = []
        errors: list[str | None] = []
        for sequence in batch:
            fed = sequence.request.prompt_ids if not sequence.prefilled else sequence.ids[-1:]
            input_ids = torch.tensor([fed], dtype=torch.long)
            try:
                if self._batch_head is not None:
                    out = self._body(input_ids=input_ids, cache=sequence.cache, use_cache=True)
                    row = out.last_hidden_state[0, -1]
                else:
                    out = self._model(input_ids=input_ids, cache=sequence.cache, use_cache=True, logits_to_keep=1)
                    row = out.logits[0, -1]
                sequence.cache = out.cache
                sequence.prefilled = True
                rows.append(row)
                errors.append(None)
            except Exception as err:
                rows.append(None)
                errors.append(f"{type(err).__name__}: {err}")
        computed = [row for row in rows if row is not None]
        logits: list[torch.Tensor] = []
        if computed:
            stacked = torch.stack(computed)
            logits = list(self._batch_head(stacked) if self._batch_head is not None else stacked)
        outcomes: list[tuple[int | None, str | None]] = []
        next_row = iter(logits)
        for sequence, row, error in zip(batch, rows, errors, strict=True):
            if row is None:
                outcomes.append((None, error))
                continue
            try:
                outcomes.append((self._sample(sequence, next(next_row)), None))
            except Exception as err:
                outcomes.append((None, f"{type(err).__name__}: {err}"))
        return outcomes

    def _sample(self, sequence: _Sequence, logits: torch.Tensor) -> int:
        request = sequence.request
        if len(sequence.ids) < request.min_tokens:
            logits = mask_ids(logits, request.stop_ids)
        logprobs = processed_logprobs(logits, request.sampling)
        token = draw(logprobs, request.sampling, sequence.generator or self._shared_generator)
        sequence.logprobs.append(float(logprobs[token].item()))
        if request.top_logprobs == 1:
            value, index = torch.max(logprobs, dim=-1)
            sequence.top.append([(int(index.item()), float(value.item()))])
        elif request.top_logprobs > 1:
            values, indices = torch.topk(logprobs, request.top_logprobs)
            sequence.top.append([(int(i), float(v)) for i, v in zip(indices.tolist(), values.tolist(), strict=True)])
        else:
            sequence.top.append([])
        return token

    def _record_locked(self, sequence: _Sequence, token: int, version: str) -> None:
        position = len(sequence.ids)
        sequence.ids.append(token)
        spans = sequence.versions
        if spans and spans[-1].version == version:
            spans[-1] = WeightVersionSpan(version, spans[-1].start, position + 1)
        else:
            spans.append(WeightVersionSpan(version, position, position + 1))
        request = sequence.request
        if sequence.abort_requested:
            self._finish_locked(sequence, "abort", None)
        elif token in request.stop_ids:
            self._finish_locked(sequence, "stop", None if token in request.eos_ids else token)
        elif len(sequence.ids) >= request.max_tokens:
            self._finish_locked(sequence, "length", None)

    def _finish_locked(
        self, sequence: _Sequence, reason: FinishReason, stop_reason: int | None, error: str | None = None
    ) -> None:
        if sequence.result is not None:
            return
        for queue in (self._running, self._held):
            if sequence in queue:
                queue.remove(sequence)
        if sequence in self._waiting:
            self._waiting.remove(sequence)
        sequence.cache = None
        sequence.result = GenerationResult(
            ids=list(sequence.ids),
            logprobs=list(sequence.logprobs[: len(sequence.ids)]),
            top=list(sequence.top[: len(sequence.ids)]),
            finish_reason=reason,
            stop_reason=stop_reason,
            weight_versions=list(sequence.versions),
            error=error,
        )
        sequence.done.set()
        self._cond.notify_all()


def _next_version(current: str) -> str:
    """The label after a weight update that named none: the next integer when the label is one, else label + "+1"."""
    return str(int(current) + 1) if current.isdigit() else f"{current}+1"


def _split_for_batching(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The transformer body and the LM head, for batched decoding, when the model's logits are just head(hidden);
    (model, None) for models that post-process their logits (soft-capping, scaling), which decode one at a time."""
    config = getattr(model, "config", None)
    post = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")
    if any(getattr(config, name, None) not in (None, 1, 1.0) for name in post):
        return model, None
    get_decoder = getattr(model, "get_decoder", None)
    get_head = getattr(model, "get_output_embeddings", None)
    body = get_decoder() if callable(get_decoder) else None
    head = get_head() if callable(get_head) else None
    if not isinstance(body, torch.nn.Module) or not isinstance(head, torch.nn.Linear):
        return model, None
    return body, head
