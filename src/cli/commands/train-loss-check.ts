import { findLearnerPython, runLearnerModule } from "../../rl/learner-python.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

/**
 * `tmax train loss-check FILE`: the learner's real loss code (Python, autograd) on the cases in FILE; its JSON report
 * (loss, kept fraction, per-token gradients, statistics per case) is streamed to stdout. A file it cannot use is
 * reported by the learner with the file's name and the place of the problem (exit 1).
 */
export async function trainLossCheckCommand(file: string): Promise<ExitCode> {
  const python = findLearnerPython();
  const interrupts = handleInterrupts("stopping the learner");
  try {
    const code = await runLearnerModule(python, ["loss-check", file], { stdout: process.stdout, signal: interrupts.signal });
    if (interrupts.signal.aborted) return EXIT.interrupted;
    if (code === 0) return EXIT.ok;
    return code === EXIT.usage ? EXIT.usage : EXIT.failure;
  } finally {
    interrupts.dispose();
  }
}
