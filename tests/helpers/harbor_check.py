"""Harbor's own code on a job directory, for tmax's Harbor round-trip tests (tests/helpers/harbor.ts).

Runs inside the test image (Python 3.13 + a pinned `harbor`), with the job directory and the task directories
bind-mounted at their host paths. Prints one JSON object on stdout.

  harbor_check.py validate JOB_DIR
      Every file tmax writes, through Harbor's pydantic models: config.json (JobConfig), lock.json (JobLock),
      result.json (JobResult), and per trial config.json (TrialConfig), result.json (TrialResult) and
      agent/trajectory.json (the ATIF Trajectory). Then Harbor's viewer scanner (JobScanner) on the jobs dir:
      the job's config, result and every trial it lists.
      -> {"files": {relpath: null | error}, "scanner": {...}}

  harbor_check.py resume JOB_DIR [ERROR_TYPE...]
      `harbor jobs resume -p JOB_DIR [-f ERROR_TYPE...]`: Harbor's own command function, with only its host
      preflight (is a podman/docker CLI installed here?) skipped. Harbor matches every existing trial config to
      its plan, checks lock.json against the lock it resolves, runs what remains and rewrites result.json.
      -> {"ok": bool, "error": str | null, "remaining": int, "existing": int}

  harbor_check.py write-config JOB_DIR SPEC_JSON
      A job's config.json as Harbor writes it (JobConfig(...).model_dump_json(indent=4)). SPEC_JSON: {"agents":
      [agent names], "tasks": [task dirs, or {"path", "git_url", "git_commit_id"}], "datasets": [{"path",
      "task_names"?} or {"name", "version", "registry_path"}], "n_attempts", "environment"}.
      -> {"config": path}

  harbor_check.py task-configs DIR
      Every DIR/*.toml through Harbor's TaskConfig.model_validate_toml, the way Harbor reads a task.toml.
      -> {file name: {"valid": true, "config": TaskConfig as JSON} | {"valid": false, "error": str}}

  harbor_check.py task-dirs DIR
      Every child of DIR through Harbor's Task.is_valid_dir (the check `harbor run -p` makes of a task directory).
      -> {dir name: bool}

  harbor_check.py write-job JOBS_DIR SPEC_JSON
      A job directory written by Harbor's models (trial results built as TrialResult and dumped as Harbor dumps
      them), with Harbor's own figures for it: JobStats (reward_stats, exception_stats), the mean metric and
      pass@k, computed by Harbor's code. SPEC_JSON: {"job_name", "trials": [{"task", "trial", "started_at",
      "rewards" | null, "exception" | null}]}.
      -> {"job_dir": str, "stats": {...}}

  harbor_check.py file-filter TASK_DIR
      Every file and directory under TASK_DIR through Harbor's TaskFileFilter (its .harborignore rules).
      -> {path relative to TASK_DIR (directories end in /): excluded}
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from pathlib import Path
from typing import Any


def _first_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " | ".join(text[:6]) if text else type(exc).__name__


def _roundtrip_diffs(written: Any, harbor: Any, path: str) -> list[str]:
    """Where Harbor, reading a file and writing it back, writes a different value than the file holds: numbers of
    another type (1 for 1.0), other strings (a timestamp without its zone, a secret Harbor would mask). Keys Harbor
    leaves out when writing are not compared."""
    if isinstance(written, dict) and isinstance(harbor, dict):
        out: list[str] = []
        for key, value in written.items():
            if key in harbor:
                out += _roundtrip_diffs(value, harbor[key], f"{path}.{key}" if path else str(key))
        return out
    if isinstance(written, list) and isinstance(harbor, list) and len(written) == len(harbor):
        return [d for i, (a, b) in enumerate(zip(written, harbor)) for d in _roundtrip_diffs(a, b, f"{path}[{i}]")]
    if isinstance(written, bool) or isinstance(harbor, bool):
        return [] if written == harbor else [f"{path}: {written!r} -> {harbor!r}"]
    if isinstance(written, (int, float)) and isinstance(harbor, (int, float)):
        same = type(written) is type(harbor) and written == harbor
        return [] if same else [f"{path}: {json.dumps(written)} -> {json.dumps(harbor)}"]
    if isinstance(written, str) and isinstance(harbor, str) and written != harbor:
        return [f"{path}: {written!r} -> {harbor!r}"]
    return []


def validate(job_dir: Path) -> dict[str, Any]:
    from harbor.models.job.config import JobConfig
    from harbor.models.job.lock import JobLock
    from harbor.models.job.result import JobResult
    from harbor.models.trajectories import Trajectory
    from harbor.models.trial.config import TrialConfig
    from harbor.models.trial.result import TrialResult
    from harbor.viewer.scanner import JobScanner

    files: dict[str, str | None] = {}
    diffs: dict[str, list[str]] = {}

    def check(path: Path, model: Any) -> Any:
        rel = str(path.relative_to(job_dir))
        text = path.read_text()
        try:
            value = model.model_validate_json(text)
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            files[rel] = _first_error(exc)
            return None
        files[rel] = None
        found = _roundtrip_diffs(json.loads(text), json.loads(value.model_dump_json()), "")
        if found:
            diffs[rel] = found[:20]
        return value

    check(job_dir / "config.json", JobConfig)
    check(job_dir / "lock.json", JobLock)
    check(job_dir / "result.json", JobResult)
    trial_dirs = sorted(d for d in job_dir.iterdir() if d.is_dir())
    for trial in trial_dirs:
        if (trial / "config.json").exists():
            check(trial / "config.json", TrialConfig)
        if (trial / "result.json").exists():
            check(trial / "result.json", TrialResult)
        if (trial / "agent" / "trajectory.json").exists():
            check(trial / "agent" / "trajectory.json", Trajectory)

    scanner = JobScanner(job_dir.parent)
    name = job_dir.name
    listed = scanner.list_trials(name)
    unreadable = [t for t in listed if scanner.get_trial_result(name, t) is None]
    return {
        "files": files,
        "diffs": diffs,
        "scanner": {
            "jobs": scanner.list_jobs(),
            "config": scanner.get_job_config(name) is not None,
            "result": scanner.get_job_result(name) is not None,
            "trials": listed,
            "unreadable_trials": unreadable,
        },
    }


def resume(job_dir: Path, error_types: list[str]) -> dict[str, Any]:
    import harbor.cli.jobs as jobs_cli
    import harbor.job as job_module

    seen: dict[str, int] = {}
    original_init = job_module.Job._init_remaining_trial_configs

    def counting(self: Any) -> None:
        original_init(self)
        seen["remaining"] = len(self._remaining_trial_configs)
        seen["existing"] = len(self._existing_trial_configs)

    job_module.Job._init_remaining_trial_configs = counting  # type: ignore[method-assign]
    jobs_cli._run_preflight = lambda config: None  # the host check only: is a podman CLI installed here?
    try:
        jobs_cli.resume(job_path=job_dir, filter_error_types=error_types or ["CancelledError"])
    except BaseException as exc:  # noqa: BLE001 - SystemExit included
        return {"ok": False, "error": _first_error(exc) + "\n" + traceback.format_exc(limit=4), **seen}
    return {"ok": True, "error": None, **seen}


def write_config(job_dir: Path, spec: dict[str, Any]) -> dict[str, Any]:
    from harbor.models.job.config import DatasetConfig, JobConfig
    from harbor.models.trial.config import AgentConfig, EnvironmentConfig, TaskConfig

    config = JobConfig(
        job_name=job_dir.name,
        jobs_dir=job_dir.parent,
        n_attempts=spec.get("n_attempts", 1),
        environment=EnvironmentConfig(type=spec.get("environment", "podman")),
        agents=[AgentConfig(name=name) for name in spec["agents"]],
        tasks=[TaskConfig(path=Path(t)) if isinstance(t, str) else TaskConfig(**t) for t in spec.get("tasks", [])],
        datasets=[
            DatasetConfig(path=Path(d["path"]), task_names=d.get("task_names"))
            if "path" in d
            else DatasetConfig(name=d["name"], version=d.get("version"), registry_path=Path(d["registry_path"]))
            for d in spec.get("datasets", [])
        ],
    )
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "config.json").write_text(config.model_dump_json(indent=4))
    return {"config": str(job_dir / "config.json")}


def write_job(jobs_dir: Path, spec: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime
    from uuid import uuid4

    from harbor.metrics.mean import Mean
    from harbor.models.job.config import DatasetConfig, JobConfig
    from harbor.models.job.result import JobResult, JobStats
    from harbor.models.task.id import LocalTaskId
    from harbor.models.trial.config import TaskConfig, TrialConfig
    from harbor.models.trial.result import AgentInfo, ExceptionInfo, TrialResult
    from harbor.models.verifier.result import VerifierResult

    job_dir = jobs_dir / spec["job_name"]
    job_dir.mkdir(parents=True)
    dataset = Path("/datasets/demo")
    config = JobConfig(job_name=spec["job_name"], jobs_dir=jobs_dir, datasets=[DatasetConfig(path=dataset)])
    (job_dir / "config.json").write_text(config.model_dump_json(indent=4))
    results: list[TrialResult] = []
    for t in spec["trials"]:
        task = TaskConfig(path=dataset / t["task"], source="demo")
        trial_config = TrialConfig(task=task, trial_name=t["trial"], trials_dir=job_dir)
        exception = None
        if t.get("exception"):
            exception = ExceptionInfo(
                exception_type=t["exception"],
                exception_message="failed",
                exception_traceback="",
                occurred_at=datetime.fromisoformat(t["started_at"]),
            )
        result = TrialResult(
            task_name=t["task"],
            trial_name=t["trial"],
            trial_uri=(job_dir / t["trial"]).as_uri(),
            task_id=LocalTaskId(path=dataset / t["task"]),
            source="demo",
            task_checksum="0" * 64,
            config=trial_config,
            agent_info=AgentInfo(name="oracle", version="1.0.0"),
            verifier_result=VerifierResult(rewards=t["rewards"]) if t.get("rewards") is not None else None,
            exception_info=exception,
            started_at=datetime.fromisoformat(t["started_at"]),
            finished_at=datetime.fromisoformat(t["started_at"]),
        )
        trial_dir = job_dir / t["trial"]
        trial_dir.mkdir()
        (trial_dir / "config.json").write_text(trial_config.model_dump_json(indent=4))
        (trial_dir / "result.json").write_text(result.model_dump_json(indent=4))
        results.append(result)

    stats = JobStats.from_trial_results(results)
    # Harbor's final metric (harbor/job.py): over the trials whose reward is valid (a reward, and no exception
    # whose error policy voids it), the rest left out.
    for key, evals in stats.evals.items():
        rewards = [
            r.verifier_result.rewards
            for r in results
            if r.reward_valid
            and r.verifier_result is not None
            and JobStats.format_agent_evals_key(
                r.agent_info.name, r.agent_info.model_info.name if r.agent_info.model_info else None, r.source or "adhoc"
            )
            == key
        ]
        evals.metrics = [Mean().compute(rewards)]
    try:
        from harbor.utils.pass_at_k import compute_pass_at_k_by_evals
    except ImportError:
        compute_pass_at_k_by_evals = None
    job_result = JobResult(
        id=uuid4(),
        started_at=datetime.now(),
        finished_at=datetime.now(),
        n_total_trials=len(results),
        stats=stats,
    )
    if compute_pass_at_k_by_evals is not None:
        for key, value in compute_pass_at_k_by_evals(results).items():
            job_result.stats.evals[key].pass_at_k = value
    (job_dir / "result.json").write_text(job_result.model_dump_json(indent=4, exclude={"trial_results"}))
    return {"job_dir": str(job_dir), "stats": json.loads(job_result.stats.model_dump_json())}


def task_configs(directory: Path) -> dict[str, Any]:
    import warnings

    from harbor.models.task.config import TaskConfig

    out: dict[str, Any] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                config = TaskConfig.model_validate_toml(path.read_text())
        except Exception as exc:  # noqa: BLE001 - any failure is Harbor's "invalid" (OverflowError included)
            out[path.name] = {"valid": False, "error": _first_error(exc)}
            continue
        out[path.name] = {"valid": True, "config": json.loads(config.model_dump_json())}
    return out


def task_dirs(directory: Path) -> dict[str, Any]:
    import warnings

    from harbor.models.task.task import Task

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {d.name: Task.is_valid_dir(d) for d in sorted(directory.iterdir()) if d.is_dir()}


def file_filter(task_dir: Path) -> dict[str, bool]:
    from harbor.models.task.file_filter import TaskFileFilter

    task_dir = task_dir.resolve()
    flt = TaskFileFilter(task_dir)
    out: dict[str, bool] = {}
    for path in sorted(task_dir.rglob("*")):
        rel = path.relative_to(task_dir).as_posix() + ("/" if path.is_dir() and not path.is_symlink() else "")
        out[rel] = flt.is_excluded(path)
    return out


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "validate":
        out = validate(Path(args[0]))
    elif command == "resume":
        out = resume(Path(args[0]), args[1:])
    elif command == "write-config":
        out = write_config(Path(args[0]), json.loads(args[1]))
    elif command == "task-dirs":
        out = task_dirs(Path(args[0]))
    elif command == "task-configs":
        out = task_configs(Path(args[0]))
    elif command == "write-job":
        out = write_job(Path(args[0]), json.loads(args[1]))
    elif command == "file-filter":
        out = file_filter(Path(args[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
