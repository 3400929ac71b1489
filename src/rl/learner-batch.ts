import { writeFileAtomic } from "../util/atomic-write.js";
import { encodeSafetensors } from "../util/safetensors.js";
import { rowAdvantages, type PackedRow } from "./packing.js";

/**
 * A step's batch file for the learner (learner/PROTOCOL.md, "Batch file"): the packed rows' columns concatenated,
 * as one safetensors file. Token columns have one value per token of every row; row_lengths one per row.
 */

export interface BatchFileSummary {
  rows: number;
  /** T: every token of every row, padding included. */
  rowTokens: number;
  /** N of the learner's token mean: model-sampled tokens, leaving out each row's first token. */
  scoredTokens: number;
}

/** The row's sampled tokens the loss can score: every non-zero response mask value but the row's first token's. */
export function scoredTokenCount(rows: readonly PackedRow[]): number {
  let n = 0;
  for (const row of rows) for (let k = 1; k < row.responseMask.length; k++) if (row.responseMask[k] !== 0) n++;
  return n;
}

/** Encodes the rows; `advantages[i]` is the advantage of batch trajectory i (the rows' mask value i + 1). */
export function encodeLearnerBatch(rows: readonly PackedRow[], advantages: ArrayLike<number>): Uint8Array {
  if (rows.length === 0) throw new RangeError("a learner batch needs at least one row");
  rows.forEach((row, r) => {
    if (row.tokenIds.length < 2) throw new RangeError(`row ${r} has ${row.tokenIds.length} token(s); the learner needs at least 2`);
  });
  const total = rows.reduce((n, row) => n + row.tokenIds.length, 0);
  const concat = <A extends Int32Array | Float32Array>(make: new (n: number) => A, pick: (row: PackedRow) => A): A => {
    const out = new make(total);
    let at = 0;
    for (const row of rows) {
      out.set(pick(row), at);
      at += row.tokenIds.length;
    }
    return out;
  };
  const shape = [total];
  return encodeSafetensors({
    token_ids: { dtype: "I32", shape, data: concat(Int32Array, (row) => row.tokenIds) },
    position_ids: { dtype: "I32", shape, data: concat(Int32Array, (row) => row.positionIds) },
    document_ids: { dtype: "I32", shape, data: concat(Int32Array, (row) => row.documentIds) },
    response_mask: { dtype: "I32", shape, data: concat(Int32Array, (row) => row.responseMask) },
    behaviour_logprobs: { dtype: "F32", shape, data: concat(Float32Array, (row) => row.logprobs) },
    advantages: { dtype: "F32", shape, data: concat(Float32Array, (row) => rowAdvantages(row, advantages)) },
    row_lengths: { dtype: "I64", shape: [rows.length], data: BigInt64Array.from(rows, (row) => BigInt(row.tokenIds.length)) },
  });
}

/** Writes the batch file atomically and says what it holds. */
export async function writeLearnerBatch(path: string, rows: readonly PackedRow[], advantages: ArrayLike<number>): Promise<BatchFileSummary> {
  await writeFileAtomic(path, encodeLearnerBatch(rows, advantages));
  return { rows: rows.length, rowTokens: rows.reduce((n, row) => n + row.tokenIds.length, 0), scoredTokens: scoredTokenCount(rows) };
}
