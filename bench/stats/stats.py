"""The plain-Python baseline of bench/stats: mean, SEM over runs and pass@5 of Harbor job directories.

Standard library only. json-loads each trial's result.json and computes the figures as tmax defines them
(README "Statistics of any job"): unfinished trials are left out, a missing reward counts 0, run i is the i-th
attempt of every task (attempts ordered by started_at, then trial name), SEM = population std / sqrt(runs),
pass@k is the unbiased estimator averaged over tasks.

    python3 stats.py JOB_DIR... -> one JSON object per line: {"job", "n_trials", "mean", "sem", "pass_at_5"}
"""

import json
import math
import os
import sys
from datetime import datetime


def started(value):
    if not value:
        return math.inf
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return math.inf


def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    fail = 1.0
    for i in range(k):
        fail *= (n - c - i) / (n - i)
    return 1.0 - fail


def job_stats(job_dir):
    trials = []
    for entry in os.scandir(job_dir):
        if not entry.is_dir():
            continue
        path = os.path.join(entry.path, "result.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            r = json.load(f)
        if not r.get("finished_at"):
            continue
        rewards = (r.get("verifier_result") or {}).get("rewards") or {}
        trials.append((r.get("task_name") or entry.name, started(r.get("started_at")), r.get("trial_name") or entry.name, rewards))

    keys = sorted({k for t in trials for k in t[3]})
    key = "reward" if not keys or "reward" in keys else keys[0]
    by_task = {}
    for task, t0, name, rewards in trials:
        by_task.setdefault(task, []).append((t0, name, rewards.get(key, 0) or 0))
    for attempts in by_task.values():
        attempts.sort(key=lambda a: (a[0], a[1]))

    mean = sum(a[2] for attempts in by_task.values() for a in attempts) / len(trials) if trials else 0.0
    n_runs = max((len(a) for a in by_task.values()), default=0)
    runs = []
    for i in range(n_runs):
        run = [attempts[i][2] for attempts in by_task.values() if len(attempts) > i]
        runs.append(sum(run) / len(run))
    run_mean = sum(runs) / len(runs) if runs else 0.0
    std = math.sqrt(sum((x - run_mean) ** 2 for x in runs) / len(runs)) if runs else 0.0
    sem = std / math.sqrt(len(runs)) if runs else 0.0

    binary = all(a[2] in (0, 1) for attempts in by_task.values() for a in attempts)
    min_n = min((len(a) for a in by_task.values()), default=0)
    p5 = None
    if binary and min_n >= 5:
        p5 = sum(pass_at_k(len(a), sum(1 for x in a if x[2] == 1), 5) for a in by_task.values()) / len(by_task)
    return {"job": job_dir, "n_trials": len(trials), "mean": mean, "sem": sem, "pass_at_5": p5}


if __name__ == "__main__":
    for d in sys.argv[1:]:
        print(json.dumps(job_stats(d)))
