/**
 * Packing trajectories (prompt + response) into training rows (rl.md §7).
 *
 * Next-fit in batch order: a trajectory goes into the open row if it fits within the row limit, else it opens a new
 * row; rows are never revisited, and a trajectory longer than the limit gets a row of its own (the only way a row
 * exceeds the limit). Trajectory i of the batch is identified by i + 1 in the rows, so that 0 can mean "none":
 *
 *  - responseMask: i + 1 on the tokens the model sampled (loss mask 1), 0 on prompt, observation and padding tokens;
 *    the learner looks a token's advantage up as `advantages[mask − 1]` (see rowAdvantages);
 *  - documentIds: i + 1 on every token of trajectory i, 0 on padding; attention (and a hybrid model's recurrent
 *    state) must not cross a change of document;
 *  - positionIds: 0, 1, 2, … restarting at each trajectory; padding continues the last trajectory's count;
 *  - logprobs: the behaviour logprob μ on model tokens, as recorded (NaN stays NaN: the learner's sentinel rule
 *    applies, §6), and the sentinel 1.0 on every other position.
 *
 * With sequence parallelism each row is padded to a multiple of the SP degree with `padTokenId`.
 */

/** Context length of the recipe: 2048 prompt + 65536 response tokens. */
const PACK_LENGTH = 67584;

/** The logprob written where there is no behaviour logprob (prompt, observation and padding positions). */
export const SENTINEL_LOGPROB = 1.0;

/** Rows hold at most min(packLength, floor(totalTokens / dpSize)) tokens, so that every data-parallel rank can get
 *  a row; never less than 1. */
export function rowLimitFor(totalTokens: number, dpSize: number, packLength = PACK_LENGTH): number {
  if (!Number.isInteger(dpSize) || dpSize < 1) throw new RangeError(`data-parallel size must be a positive integer, got ${dpSize}`);
  return Math.max(1, Math.min(packLength, Math.floor(totalTokens / dpSize)));
}

/** What packing needs of a rollout (a Rollout fits). */
export interface PackableTrajectory {
  promptIds: ArrayLike<number>;
  responseIds: ArrayLike<number>;
  lossMask: ArrayLike<number>;
  logprobs: ArrayLike<number>;
  policyVersion: number;
}

export interface PackedRow {
  tokenIds: Int32Array;
  positionIds: Int32Array;
  responseMask: Int32Array;
  documentIds: Int32Array;
  logprobs: Float32Array;
  /** Batch indices of the trajectories in this row, in row order. */
  trajectories: number[];
  /** Their policy versions (model steps), aligned with `trajectories`. */
  policyVersions: number[];
}

export interface PackOptions {
  /** Most tokens in a row (before padding); see rowLimitFor. */
  rowLimit: number;
  padTokenId: number;
  /** Pad every row to a multiple of this (the sequence-parallel degree); 1 = no padding. */
  padToMultipleOf?: number;
}

function trajectoryLength(t: PackableTrajectory): number {
  return t.promptIds.length + t.responseIds.length;
}

export function packTrajectories(trajectories: readonly PackableTrajectory[], options: PackOptions): PackedRow[] {
  const { rowLimit, padTokenId } = options;
  const multiple = options.padToMultipleOf ?? 1;
  if (!Number.isInteger(rowLimit) || rowLimit < 1) throw new RangeError(`row limit must be a positive integer, got ${rowLimit}`);
  if (!Number.isInteger(multiple) || multiple < 1) throw new RangeError(`padToMultipleOf must be a positive integer, got ${multiple}`);
  trajectories.forEach((t, i) => {
    const n = t.responseIds.length;
    if (t.lossMask.length !== n || t.logprobs.length !== n) {
      throw new RangeError(`trajectory ${i}: ${n} response tokens but ${t.lossMask.length} mask values and ${t.logprobs.length} logprobs`);
    }
  });

  // Next-fit: which trajectories share a row.
  const groups: number[][] = [];
  let open: number[] = [];
  let used = 0;
  trajectories.forEach((t, i) => {
    const len = trajectoryLength(t);
    if (open.length > 0 && used + len > rowLimit) {
      groups.push(open);
      open = [];
      used = 0;
    }
    open.push(i);
    used += len;
  });
  if (open.length > 0) groups.push(open);

  return groups.map((members) => buildRow(trajectories, members, padTokenId, multiple));
}

function buildRow(all: readonly PackableTrajectory[], members: number[], padTokenId: number, multiple: number): PackedRow {
  const content = members.reduce((s, i) => s + trajectoryLength(all[i]!), 0);
  const length = Math.ceil(content / multiple) * multiple;
  const row: PackedRow = {
    tokenIds: new Int32Array(length).fill(padTokenId),
    positionIds: new Int32Array(length),
    responseMask: new Int32Array(length),
    documentIds: new Int32Array(length),
    logprobs: new Float32Array(length).fill(SENTINEL_LOGPROB),
    trajectories: members,
    policyVersions: members.map((i) => all[i]!.policyVersion),
  };
  let at = 0;
  let position = 0;
  for (const i of members) {
    const t = all[i]!;
    const id = i + 1;
    position = 0;
    for (let k = 0; k < t.promptIds.length; k++, at++) {
      row.tokenIds[at] = t.promptIds[k]!;
      row.positionIds[at] = position++;
      row.documentIds[at] = id;
    }
    for (let k = 0; k < t.responseIds.length; k++, at++) {
      row.tokenIds[at] = t.responseIds[k]!;
      row.positionIds[at] = position++;
      row.documentIds[at] = id;
      const m = t.lossMask[k];
      if (m !== 0 && m !== 1) throw new RangeError(`trajectory ${i}: loss mask value ${m} at response position ${k} is not 0 or 1`);
      if (m === 1) {
        row.responseMask[at] = id;
        row.logprobs[at] = t.logprobs[k]!;
      }
    }
  }
  for (; at < length; at++) row.positionIds[at] = position++;
  return row;
}

/** Per-token advantages of a row: the advantage of the token's trajectory on model tokens, 0 elsewhere. */
export function rowAdvantages(row: PackedRow, advantages: ArrayLike<number>): Float32Array {
  return Float32Array.from(row.responseMask, (m) => {
    if (m === 0) return 0;
    const a = advantages[m - 1];
    if (a === undefined) throw new RangeError(`row refers to trajectory ${m - 1}, but there are ${advantages.length} advantages`);
    return a;
  });
}
