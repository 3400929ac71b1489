"""New weights for a served model from a safetensors directory (a learner checkpoint `OUT/step_N/`, or any Hugging
Face model dir of the same architecture), checked completely before anything is changed.

Checks: the path is an absolute directory holding `*.safetensors` files (vLLM's disk backend asks the same); no
tensor name appears twice; every name is a parameter of the served model (tied weights may appear under either
name); every parameter of the model is present (a tied one once); every shape equals the model's; every dtype is a
floating point one; every value is finite. The tensors are then cast to the parameters' dtypes.

Checkpoints whose tensor names are not the module's own (Hugging Face checkpoint layouts transformers converts on
load: a missing base-model prefix, renamed or fused weights) are read through transformers' own loader instead,
with the directory's config.json, and accepted only when it reports no missing, unexpected or mismatched tensor.

Applying copies the tensors into the parameters in place, which the engine does between two decoding steps, so no
forward pass sees a mix of old and new weights.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open


class WeightLoadError(ValueError):
    """The directory cannot be loaded into the served model; nothing was changed."""


@dataclass(frozen=True)
class StagedWeights:
    path: Path
    tensors: dict[str, torch.Tensor]
    """Parameter name (as `named_parameters()` gives it, ties removed) → the new value, in the parameter's dtype."""


def _safetensors_files(path: str) -> list[Path]:
    if not path or not os.path.isabs(path):
        raise WeightLoadError(f"the weights path must be an absolute directory, not {path!r}")
    directory = Path(path)
    if not directory.is_dir():
        raise WeightLoadError(f"{path}: no such directory")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(".safetensors"))
    if not files:
        raise WeightLoadError(f"{path}: the directory holds no .safetensors files")
    return files


def _canonical_names(model: torch.nn.Module) -> dict[str, str]:
    """Every name a parameter is known by (tied parameters have several) → the name `named_parameters()` uses."""
    canonical: dict[int, str] = {}
    names: dict[str, str] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        first = canonical.setdefault(id(parameter), name)
        names[name] = first
    return names


class _NotModuleNames(WeightLoadError):
    """The checkpoint's tensor names are not the module's parameter names."""


def stage_weights(model: torch.nn.Module, path: str) -> StagedWeights:
    """Reads and checks every tensor of the directory against `model`; raises WeightLoadError on the first problem."""
    files = _safetensors_files(path)
    try:
        staged = _stage_by_module_names(model, path, files)
    except _NotModuleNames as err:
        staged = _stage_through_transformers(model, path, err)
    non_finite = [name for name, tensor in staged.items() if not bool(torch.isfinite(tensor).all())]
    if non_finite:
        raise WeightLoadError(f"{path}: tensor {non_finite[0]} has non-finite values")
    return StagedWeights(Path(path), staged)


def _stage_through_transformers(model: torch.nn.Module, path: str, cause: WeightLoadError) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    if not (Path(path) / "config.json").is_file():
        raise WeightLoadError(f"{cause} (and the directory has no config.json to convert it with)") from cause
    try:
        # With output_loading_info, from_pretrained returns (model, info); its annotation says a model.
        result: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
        loaded: torch.nn.Module = result[0]
        info: dict[str, Any] = result[1]
    except Exception as err:
        raise WeightLoadError(f"{cause} (transformers cannot load it either: {type(err).__name__}: {err})") from err
    problems = {kind: list(info.get(kind) or []) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if any(problems.values()):
        shown = "; ".join(f"{kind}: {', '.join(map(str, keys[:3]))}" for kind, keys in problems.items() if keys)
        raise WeightLoadError(f"{cause} (through transformers: {shown})") from cause
    parameters = dict(model.named_parameters())
    staged: dict[str, torch.Tensor] = {}
    for name, tensor in loaded.named_parameters():
        target = parameters.get(name)
        if target is None:
            raise WeightLoadError(f"{path}: parameter {name} of the checkpoint's model is not one of the served model")
        if tuple(tensor.shape) != tuple(target.shape):
            raise WeightLoadError(
                f"{path}: parameter {name} has shape {list(tensor.shape)}, the model's is {list(target.shape)}"
            )
        staged[name] = tensor.detach().to(target.dtype)
    missing = sorted(set(parameters) - set(staged))
    if missing:
        raise WeightLoadError(f"{path}: the checkpoint lacks {len(missing)} parameter(s) of the model: {missing[0]}")
    return staged


def _stage_by_module_names(model: torch.nn.Module, path: str, files: list[Path]) -> dict[str, torch.Tensor]:
    names = _canonical_names(model)
    parameters = dict(model.named_parameters())
    staged: dict[str, torch.Tensor] = {}
    seen: set[str] = set()
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as reader:
                for key in reader.keys():
                    if key in seen:
                        raise WeightLoadError(f"{file}: tensor {key} appears in more than one file")
                    seen.add(key)
                    canonical = names.get(key)
                    if canonical is None:
                        raise _NotModuleNames(f"{file}: tensor {key} is not a parameter of the served model")
                    tensor = reader.get_tensor(key)
                    target = parameters[canonical]
                    if tuple(tensor.shape) != tuple(target.shape):
                        raise WeightLoadError(
                            f"{file}: tensor {key} has shape {list(tensor.shape)}, the model's is {list(target.shape)}"
                        )
                    if not tensor.is_floating_point():
                        raise WeightLoadError(f"{file}: tensor {key} has dtype {tensor.dtype}, not a floating one")
                    if canonical in staged and not torch.equal(staged[canonical], tensor.to(target.dtype)):
                        raise WeightLoadError(f"{file}: tied tensors {key} and {canonical} differ")
                    staged[canonical] = tensor.to(target.dtype)
        except WeightLoadError:
            raise
        except Exception as err:  # a truncated or corrupt file: safetensors raises its own errors
            raise WeightLoadError(f"{file}: cannot read it ({type(err).__name__}: {err})") from err
    missing = sorted(set(parameters) - set(staged))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightLoadError(f"{path}: the checkpoint lacks {len(missing)} parameter(s) of the model: {shown}")
    return staged


@torch.no_grad()
def apply_weights(model: torch.nn.Module, staged: StagedWeights) -> None:
    """Copies staged tensors into the parameters (shapes and dtypes were checked: this cannot fail halfway)."""
    parameters = dict(model.named_parameters())
    for name, tensor in staged.tensors.items():
        parameters[name].copy_(tensor)
