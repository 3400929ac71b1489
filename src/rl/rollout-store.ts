import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { toJsonText, writeFileAtomic } from "../util/atomic-write.js";
import { FileFormatError, isMissingFile, parseJsonDocument } from "../util/json-file.js";
import { TMAX_VERSION } from "../version.js";
import { isInfraFailure, ROLLOUT_ENDINGS, type Rollout } from "./rollout.js";

/**
 * Rollout files: a batch of rollouts in a directory, as two files. The Python learner reads the same files.
 *
 *   rollouts.json  the index: UTF-8 JSON, everything but the token data
 *   rollouts.bin   the token data: four columns of fixed-width little-endian values
 *
 * rollouts.bin starts with the 8 ASCII bytes `TMAXRLv1`, then holds each column as one contiguous array; tmax puts
 * every column at a byte offset that is a multiple of 8 and fills gaps with zero bytes. The columns (numpy dtype):
 *
 *   prompt_ids          "<i4"  int32 LE    the prompts' token ids, rollout after rollout
 *   response_ids        "<i4"  int32 LE    the responses' token ids, rollout after rollout
 *   behaviour_logprobs  "<f4"  float32 LE  per response token: the engine's logprob of the sampled token (after
 *                                          temperature); 0.0 on observation tokens; NaN where there is none
 *   loss_mask           "|u1"  uint8       per response token: 1 = sampled by the model, 0 = not
 *
 * The three response columns are parallel: value k of each belongs to the same token.
 *
 * rollouts.json:
 *   format "tmax-rollouts", version 1, created_at (UTC ISO), tmax_version,
 *   tokens_file         "rollouts.bin" (a file name in the same directory),
 *   tokens_file_bytes   its size, tokens_file_sha256 the hex SHA-256 of its whole content,
 *   columns.<name>      { dtype, offset, count }: the column is `count` values of `dtype` starting at byte `offset`,
 *   rollouts[]          one entry per rollout:
 *     task_name, group_id, sample_index (j), seed, policy_version (model step when the prompt was admitted),
 *     ending (see ROLLOUT_ENDINGS), reward (in [0, 1]; 0 unless ending = "submitted"; null iff ending is
 *     "reset_failed" or "infra_error"), error (string or null),
 *     prompt   { start, count }: values [start, start + count) of prompt_ids,
 *     response { start, count }: values [start, start + count) of response_ids, behaviour_logprobs and loss_mask,
 *     turns[]  { start, end, finish_reason ("stop" | "length") }: the model's calls, response positions [start, end),
 *              ordered and not overlapping,
 *     prompt_text, response_text (decoded),
 *     timings  { started_at, finished_at (UTC ISO), model_sec, env_sec }.
 *
 * In numpy: `np.frombuffer(data, dtype=c["dtype"], count=c["count"], offset=c["offset"])` for each column c.
 *
 * Writing is atomic per file (temp file + rename), rollouts.bin first: rollouts.json is the commit point, and its
 * size and checksum tie it to the token file it was written with.
 */

export const ROLLOUT_INDEX_FILE = "rollouts.json";
const TOKENS_FILE = "rollouts.bin";
const MAGIC = "TMAXRLv1";

const COLUMNS = {
  prompt_ids: { dtype: "<i4", bytes: 4 },
  response_ids: { dtype: "<i4", bytes: 4 },
  behaviour_logprobs: { dtype: "<f4", bytes: 4 },
  loss_mask: { dtype: "|u1", bytes: 1 },
} as const;
type ColumnName = keyof typeof COLUMNS;
const COLUMN_NAMES = Object.keys(COLUMNS) as ColumnName[];

const count = z.number().int().nonnegative();
const spanSchema = z.object({ start: count, count });
const columnSchema = (name: ColumnName) => z.object({ dtype: z.literal(COLUMNS[name].dtype), offset: count, count });

const entrySchema = z
  .object({
    task_name: z.string(),
    group_id: z.string(),
    sample_index: count,
    seed: z.number().int(),
    policy_version: count,
    ending: z.enum(ROLLOUT_ENDINGS),
    reward: z.number().min(0).max(1).nullable(),
    error: z.string().nullable(),
    prompt: spanSchema,
    response: spanSchema,
    turns: z.array(z.object({ start: count, end: count, finish_reason: z.enum(["stop", "length"]) })),
    prompt_text: z.string(),
    response_text: z.string(),
    timings: z.object({
      started_at: z.iso.datetime(),
      finished_at: z.iso.datetime(),
      model_sec: z.number().nonnegative(),
      env_sec: z.number().nonnegative(),
    }),
  })
  .superRefine((e, ctx) => {
    if (isInfraFailure(e.ending)) {
      if (e.reward !== null) ctx.addIssue({ code: "custom", path: ["reward"], message: `must be null for ending "${e.ending}"` });
    } else if (e.reward === null) {
      ctx.addIssue({ code: "custom", path: ["reward"], message: `must be a number for ending "${e.ending}"` });
    } else if (e.ending !== "submitted" && e.reward !== 0) {
      ctx.addIssue({ code: "custom", path: ["reward"], message: `must be 0 for ending "${e.ending}" (only a submitted rollout is rewarded)` });
    }
    let previousEnd = 0;
    e.turns.forEach((t, i) => {
      if (t.start < previousEnd || t.end < t.start || t.end > e.response.count) {
        const after = i === 0 ? "" : ` after the previous turn's end ${previousEnd}`;
        ctx.addIssue({
          code: "custom",
          path: ["turns", i],
          message: `[${t.start}, ${t.end}) is not a span of the ${e.response.count} response tokens${after}`,
        });
      }
      previousEnd = Math.max(previousEnd, t.end);
    });
  });

const indexSchema = z.object({
  format: z.literal("tmax-rollouts"),
  version: z.literal(1),
  created_at: z.iso.datetime(),
  tmax_version: z.string(),
  tokens_file: z.string().regex(/^(?!\.\.?$)[^/\\]+$/, "must be a file name in the same directory"),
  tokens_file_bytes: count,
  tokens_file_sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  columns: z.object({
    prompt_ids: columnSchema("prompt_ids"),
    response_ids: columnSchema("response_ids"),
    behaviour_logprobs: columnSchema("behaviour_logprobs"),
    loss_mask: columnSchema("loss_mask"),
  }),
  rollouts: z.array(entrySchema),
});
type RolloutIndex = z.output<typeof indexSchema>;
type IndexEntry = RolloutIndex["rollouts"][number];

/** Typed-array views and copies below are in the host's byte order; the files are little-endian. */
function requireLittleEndianHost(): void {
  if (endianness() !== "LE") throw new Error("rollout files are little-endian; this host is big-endian");
}

function alignUp(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function rolloutLabel(r: Rollout, i: number): string {
  return `rollout ${i} (task ${r.taskName}, group ${r.groupId}, sample ${r.sampleIndex})`;
}

function checkTokenArrays(r: Rollout, i: number): void {
  const n = r.responseIds.length;
  if (r.lossMask.length !== n || r.logprobs.length !== n) {
    throw new RangeError(`${rolloutLabel(r, i)}: ${n} response ids but ${r.lossMask.length} mask values and ${r.logprobs.length} logprobs`);
  }
  const negative = [r.promptIds, r.responseIds].find((ids) => ids.some((id) => id < 0));
  if (negative) throw new RangeError(`${rolloutLabel(r, i)}: negative token id in the ${negative === r.promptIds ? "prompt" : "response"}`);
  const k = r.lossMask.findIndex((m) => m > 1);
  if (k >= 0) throw new RangeError(`${rolloutLabel(r, i)}: loss mask value ${r.lossMask[k]} at response position ${k} is not 0 or 1`);
}

/** Writes `rollouts` as rollouts.bin + rollouts.json in `dir` (created if needed), replacing what was there. */
export async function writeRollouts(dir: string, rollouts: readonly Rollout[]): Promise<void> {
  requireLittleEndianHost();
  rollouts.forEach(checkTokenArrays);
  const promptTotal = rollouts.reduce((s, r) => s + r.promptIds.length, 0);
  const responseTotal = rollouts.reduce((s, r) => s + r.responseIds.length, 0);
  const totals: Record<ColumnName, number> = {
    prompt_ids: promptTotal,
    response_ids: responseTotal,
    behaviour_logprobs: responseTotal,
    loss_mask: responseTotal,
  };
  const offsets = {} as Record<ColumnName, number>;
  let size = MAGIC.length;
  for (const name of COLUMN_NAMES) {
    offsets[name] = alignUp(size);
    size = offsets[name] + totals[name] * COLUMNS[name].bytes;
  }

  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  const promptIds = new Int32Array(buffer, offsets.prompt_ids, promptTotal);
  const responseIds = new Int32Array(buffer, offsets.response_ids, responseTotal);
  const logprobs = new Float32Array(buffer, offsets.behaviour_logprobs, responseTotal);
  const lossMask = new Uint8Array(buffer, offsets.loss_mask, responseTotal);

  let promptAt = 0;
  let responseAt = 0;
  const entries = rollouts.map((r): IndexEntry => {
    promptIds.set(r.promptIds, promptAt);
    responseIds.set(r.responseIds, responseAt);
    logprobs.set(r.logprobs, responseAt);
    lossMask.set(r.lossMask, responseAt);
    const entry: IndexEntry = {
      task_name: r.taskName,
      group_id: r.groupId,
      sample_index: r.sampleIndex,
      seed: r.seed,
      policy_version: r.policyVersion,
      ending: r.ending,
      reward: r.reward,
      error: r.error,
      prompt: { start: promptAt, count: r.promptIds.length },
      response: { start: responseAt, count: r.responseIds.length },
      turns: r.turns.map((t) => ({ start: t.start, end: t.end, finish_reason: t.finishReason })),
      prompt_text: r.promptText,
      response_text: r.responseText,
      timings: {
        started_at: r.timings.startedAt,
        finished_at: r.timings.finishedAt,
        model_sec: r.timings.modelSec,
        env_sec: r.timings.envSec,
      },
    };
    promptAt += r.promptIds.length;
    responseAt += r.responseIds.length;
    return entry;
  });

  const columns = Object.fromEntries(
    COLUMN_NAMES.map((name) => [name, { dtype: COLUMNS[name].dtype, offset: offsets[name], count: totals[name] }]),
  ) as RolloutIndex["columns"];
  const index: RolloutIndex = {
    format: "tmax-rollouts",
    version: 1,
    created_at: new Date().toISOString(),
    tmax_version: TMAX_VERSION,
    tokens_file: TOKENS_FILE,
    tokens_file_bytes: size,
    tokens_file_sha256: sha256Hex(bytes),
    columns,
    rollouts: entries,
  };
  const indexPath = join(dir, ROLLOUT_INDEX_FILE);
  const checked = indexSchema.safeParse(index);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new RangeError(`${indexPath} not written: ${issue.path.map(String).join(".")}: ${issue.message}`);
  }
  await writeFileAtomic(join(dir, TOKENS_FILE), bytes);
  await writeFileAtomic(indexPath, toJsonText(index));
}

/**
 * Reads and validates the rollouts written in `dir`. Every problem throws a FileFormatError naming the file and
 * the field: the index's structure, the token file's presence, size, checksum and header, the columns' and
 * spans' bounds, token ids (non-negative) and mask values (0 or 1).
 */
export async function readRollouts(dir: string): Promise<Rollout[]> {
  requireLittleEndianHost();
  const indexPath = join(dir, ROLLOUT_INDEX_FILE);
  const index = parseJsonDocument(indexPath, await readFile(indexPath, "utf8"), indexSchema);
  const tokensPath = join(dir, index.tokens_file);
  const data = await readTokensFile(tokensPath, index);
  const columnValues = checkColumns(indexPath, tokensPath, index, data.byteLength);
  return index.rollouts.map((e, i) => {
    for (const [span, column] of [
      ["prompt", "prompt_ids"],
      ["response", "response_ids"],
    ] as const) {
      if (e[span].start + e[span].count > columnValues[column]) {
        throw new FileFormatError(
          indexPath,
          `rollouts.${i}.${span}`,
          `values [${e[span].start}, ${e[span].start + e[span].count}) lie beyond the ${columnValues[column]} values of column ${column}`,
        );
      }
    }
    /** A copy of the span's bytes in a buffer of its own (so aligned for any typed array). */
    const slice = (name: ColumnName, span: { start: number; count: number }): ArrayBuffer => {
      const from = index.columns[name].offset + span.start * COLUMNS[name].bytes;
      return new Uint8Array(data.subarray(from, from + span.count * COLUMNS[name].bytes)).buffer;
    };
    const rollout: Rollout = {
      taskName: e.task_name,
      groupId: e.group_id,
      sampleIndex: e.sample_index,
      seed: e.seed,
      policyVersion: e.policy_version,
      promptIds: new Int32Array(slice("prompt_ids", e.prompt)),
      responseIds: new Int32Array(slice("response_ids", e.response)),
      lossMask: new Uint8Array(slice("loss_mask", e.response)),
      logprobs: new Float32Array(slice("behaviour_logprobs", e.response)),
      turns: e.turns.map((t) => ({ start: t.start, end: t.end, finishReason: t.finish_reason })),
      promptText: e.prompt_text,
      responseText: e.response_text,
      reward: e.reward,
      ending: e.ending,
      error: e.error,
      timings: {
        startedAt: e.timings.started_at,
        finishedAt: e.timings.finished_at,
        modelSec: e.timings.model_sec,
        envSec: e.timings.env_sec,
      },
    };
    checkTokenValues(tokensPath, rollout, i);
    return rollout;
  });
}

async function readTokensFile(tokensPath: string, index: RolloutIndex): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(tokensPath);
  } catch (err) {
    if (isMissingFile(err)) throw new FileFormatError(tokensPath, "", `missing (${ROLLOUT_INDEX_FILE} names it as its tokens_file)`);
    throw err;
  }
  if (data.byteLength !== index.tokens_file_bytes) {
    throw new FileFormatError(tokensPath, "", `${data.byteLength} bytes, but ${ROLLOUT_INDEX_FILE} says tokens_file_bytes = ${index.tokens_file_bytes}`);
  }
  if (sha256Hex(data) !== index.tokens_file_sha256) {
    throw new FileFormatError(tokensPath, "", `content does not match tokens_file_sha256 in ${ROLLOUT_INDEX_FILE} (corrupt, or from another write)`);
  }
  if (data.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) {
    throw new FileFormatError(tokensPath, "", `does not start with "${MAGIC}": not a tmax rollout token file`);
  }
  return data;
}

/** Checks that every column lies within the token file and that the response columns are parallel; returns the
 *  number of values of each column. */
function checkColumns(indexPath: string, tokensPath: string, index: RolloutIndex, fileBytes: number): Record<ColumnName, number> {
  for (const name of COLUMN_NAMES) {
    const c = index.columns[name];
    const end = c.offset + c.count * COLUMNS[name].bytes;
    if (c.offset < MAGIC.length || end > fileBytes) {
      throw new FileFormatError(indexPath, `columns.${name}`, `bytes [${c.offset}, ${end}) are not within the data of ${tokensPath} (bytes [${MAGIC.length}, ${fileBytes}))`);
    }
  }
  for (const name of ["behaviour_logprobs", "loss_mask"] as const) {
    if (index.columns[name].count !== index.columns.response_ids.count) {
      throw new FileFormatError(indexPath, `columns.${name}.count`, `${index.columns[name].count}, but response_ids has ${index.columns.response_ids.count} values`);
    }
  }
  return Object.fromEntries(COLUMN_NAMES.map((name) => [name, index.columns[name].count])) as Record<ColumnName, number>;
}

function checkTokenValues(tokensPath: string, r: Rollout, i: number): void {
  for (const [field, ids] of [
    ["prompt_ids", r.promptIds],
    ["response_ids", r.responseIds],
  ] as const) {
    const k = ids.findIndex((id) => id < 0);
    if (k >= 0) throw new FileFormatError(tokensPath, `rollouts.${i}.${field}.${k}`, `token id ${ids[k]} is negative`);
  }
  const k = r.lossMask.findIndex((m) => m > 1);
  if (k >= 0) throw new FileFormatError(tokensPath, `rollouts.${i}.loss_mask.${k}`, `${r.lossMask[k]} is not 0 or 1`);
}
