import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import pc from "picocolors";
import { ReferenceServer } from "../../rl/reference-server.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

export interface ServeOptions {
  modelDir: string;
  host: string;
  port: number;
  servedModelName: string[];
  seed: number;
  maxModelLen?: number;
  threads: number;
  batchDecode: boolean;
  logRequests: boolean;
}

/**
 * `tmax serve`: tmax's reference inference server (`python -m tmax_learner serve-inference`, learner/INFERENCE.md)
 * in the foreground. The base URL goes to stdout once it listens; its log to stderr. Ctrl-C / SIGTERM stops it
 * (requests still running end with finish_reason "abort") and exits 130; the Python server never outlives tmax.
 */
export async function serveCommand(o: ServeOptions): Promise<ExitCode> {
  if (o.port > 65_535) throw new UsageError(`--port must be from 0 to 65535, not ${o.port}`);
  const modelDir = resolve(o.modelDir);
  if (!existsSync(join(modelDir, "config.json"))) throw new UsageError(`--model-dir ${o.modelDir}: no config.json (not a Hugging Face model dir)`);
  const interrupts = handleInterrupts("stopping the inference server");
  let server: ReferenceServer | undefined;
  try {
    console.error(pc.dim(`loading ${modelDir} …`));
    server = await ReferenceServer.start({
      modelDir,
      host: o.host,
      port: o.port,
      servedModelNames: o.servedModelName,
      seed: o.seed,
      maxModelLen: o.maxModelLen,
      threads: o.threads,
      batchDecode: o.batchDecode,
      logRequests: o.logRequests,
      onLog: (line) => console.error(line),
      signal: interrupts.signal,
    });
    console.log(server.url);
    console.error(
      pc.green(`✓ serving ${server.ready.served_names.join(", ")} at ${server.url}`) +
        pc.dim(` (pid ${server.ready.pid}, weight version ${server.ready.weight_version}, context ${server.ready.max_model_len}; Ctrl-C stops it)`),
    );
    const running = server;
    const stopped = await new Promise<"interrupted" | "exited">((resolveStop) => {
      interrupts.signal.addEventListener("abort", () => resolveStop("interrupted"), { once: true });
      void running.exited.then(() => resolveStop("exited"));
    });
    if (stopped === "exited") {
      console.error(`tmax serve: the server exited unexpectedly (code ${await running.exited})`);
      return EXIT.failure;
    }
    await running.close();
    return EXIT.interrupted;
  } catch (err) {
    if (interrupts.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    await server?.close();
    interrupts.dispose();
  }
}
