import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FunctionTool } from "../../src/model/types.js";
import type { TemplateMessage } from "../../src/model/hf/chat-template.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./hf_reference.py", import.meta.url));

/** The Python that has transformers: $TMAX_PYTHON, else the project virtualenv (<repo>/.venv, made by setup). */
export function referencePython(): string {
  const python = process.env.TMAX_PYTHON ?? `${REPO}.venv/bin/python`;
  if (!existsSync(python)) throw new Error(`no Python for the transformers reference at ${python} (run scripts/setup.sh or set TMAX_PYTHON)`);
  return python;
}

export type ReferenceCase = { model: string } & (
  | { chat: { messages: readonly TemplateMessage[]; tools: readonly FunctionTool[] | null; addGenerationPrompt: boolean } }
  | { encode: { text: string; addSpecialTokens: boolean } }
  | { decode: { ids: readonly number[]; skipSpecialTokens: boolean } }
);

export interface ReferenceResult {
  text?: string;
  ids?: number[];
  error?: string;
}

/** Runs all cases through Python transformers (AutoTokenizer.from_pretrained of each named model dir) in one process. */
export async function transformersReference(modelDirs: Record<string, string>, cases: readonly ReferenceCase[]): Promise<ReferenceResult[]> {
  const child = spawn(referencePython(), [SCRIPT], {
    env: { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", TRANSFORMERS_VERBOSITY: "error", PYTHONIOENCODING: "utf-8" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  child.stdin.end(JSON.stringify({ modelDirs, cases }));
  const code = await exited;
  if (code !== 0) throw new Error(`transformers reference exited with ${code}: ${Buffer.concat(err).toString("utf8")}`);
  return JSON.parse(Buffer.concat(out).toString("utf8")) as ReferenceResult[];
}
