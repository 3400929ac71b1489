import { relative } from "node:path";
import { readTrial, recordedRewards, type TrialStep, type TrialView } from "../store/trial.js";
import type { Trajectory } from "../store/trajectory.js";
import type { TrialResponse, TrialStepInfo } from "./api-types.js";
import { trajectoryView } from "./trajectory-steps.js";

/** The trial page and the trajectory page, from the store's trial read model (store/trial.ts). */

/** The stored trajectory the viewer shows: ATIF first (it has per-step tokens), else tmax's chat messages. */
async function trajectoryOf(trial: TrialView): Promise<Trajectory | null> {
  return (await trial.atif()) ?? (await trial.trajectory());
}

/** The task's instruction as the agent got it: the first user message of the trajectory. */
function instructionOf(t: Trajectory | null): string | null {
  if (!t) return null;
  if (t.format === "atif") {
    const m = t.document.steps.find((s) => s.source === "user")?.message;
    return typeof m === "string" ? m : null;
  }
  const m = t.messages.find((x) => x.role === "user")?.content;
  return typeof m === "string" ? m : null;
}

function stepInfo(s: TrialStep): TrialStepInfo {
  return {
    name: s.name,
    dir: s.dir,
    rewards: s.rewards,
    rewardFile: s.verifier.rewardFile,
    rewardError: s.verifier.rewardError,
    verification: s.verification,
    exception: s.exception,
    agentSeconds: s.agentExecution?.seconds ?? null,
    verifierSeconds: s.verifierTiming?.seconds ?? null,
    verifierStdout: s.verifier.stdout,
  };
}

export interface Siblings {
  previous: string | null;
  next: string | null;
}

export async function trialDetail(path: string, jobPath: string, dir: string, siblings: Siblings): Promise<TrialResponse> {
  const trial = await readTrial(dir);
  const [result, verifier, exceptionText, timings, files, steps] = await Promise.all([trial.result(), trial.verifier(), trial.exception(), trial.timings(), trial.files(), trial.steps()]);
  let trajectory: Trajectory | null = null;
  let trajectoryError = false;
  try {
    trajectory = await trajectoryOf(trial);
  } catch {
    trajectoryError = true; // malformed: the trajectory page reports why
  }
  const ex = result?.exception_info ?? null;
  return {
    path,
    name: trial.name,
    jobPath,
    task: result?.task_name ?? null,
    agent: result?.agent_info?.name ?? null,
    model: result?.agent_info?.model_info?.name ?? null,
    // A multi-step trial has no verifier/ of its own: its rewards are the ones result.json combined from its steps.
    rewards: verifier.rewards ?? (steps ? recordedRewards(result?.verifier_result?.rewards) : null),
    rewardFile: verifier.rewardFile,
    rewardError: verifier.rewardError,
    exception: ex || exceptionText
      ? { type: ex?.exception_type ?? "UnknownError", message: ex?.exception_message ?? null, traceback: ex?.exception_traceback ?? exceptionText }
      : null,
    timings: timings as TrialResponse["timings"],
    verifierStdout: verifier.stdout,
    instruction: instructionOf(trajectory),
    files,
    hasTrajectory: trajectory !== null || trajectoryError,
    steps: steps?.map(stepInfo) ?? null,
    ...siblings,
  };
}

/** The trajectory page's steps; null when the trial has no trajectory. Malformed files reject (FileFormatError). */
export async function trajectoryDetail(path: string, dir: string): Promise<ReturnType<typeof trajectoryView> | null> {
  const trial = await readTrial(dir);
  const t = await trajectoryOf(trial);
  if (!t) return null;
  // The file relative to the trial (no absolute paths of the host in answers).
  return trajectoryView(path, { ...t, file: relative(dir, t.file) }, await trial.stepTimings().catch(() => null));
}
