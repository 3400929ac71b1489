/**
 * Packed rows over data-parallel ranks (rl.md §7). The original gave every rank floor(rows / DP) rows and dropped
 * the remaining rows mod DP; here every row goes to exactly one rank.
 *
 * Balance is by rows first, then by tokens:
 *  - every rank gets floor(R / DP) or ceil(R / DP) of the R rows. A micro-batch is one row, so the ranks run the
 *    same number of micro-batches give or take one; a learner whose collectives need equal counts lets the ranks
 *    with a row fewer run one empty (fully masked) row;
 *  - within that, rows are placed longest first (ties: lower row index) on the rank with the fewest tokens so far
 *    among those that may take another row (ties: lower rank), which evens out compute.
 * Each rank's rows are listed in batch order. The split depends only on the row lengths: same input, same split.
 */
export function splitRowsOverRanks(rowTokens: readonly number[], dpSize: number): number[][] {
  if (!Number.isInteger(dpSize) || dpSize < 1) throw new RangeError(`data-parallel size must be a positive integer, got ${dpSize}`);
  const base = Math.floor(rowTokens.length / dpSize);
  const withExtraRow = rowTokens.length % dpSize;
  const ranks: number[][] = Array.from({ length: dpSize }, () => []);
  const tokens = new Array<number>(dpSize).fill(0);
  let ranksAtCeiling = 0;

  const longestFirst = rowTokens.map((_, i) => i).sort((a, b) => rowTokens[b]! - rowTokens[a]! || a - b);
  for (const row of longestFirst) {
    let best = -1;
    for (let r = 0; r < dpSize; r++) {
      const count = ranks[r]!.length;
      const mayTake = count < base || (count === base && ranksAtCeiling < withExtraRow);
      if (mayTake && (best < 0 || tokens[r]! < tokens[best]!)) best = r;
    }
    if (ranks[best]!.length === base) ranksAtCeiling++;
    ranks[best]!.push(row);
    tokens[best]! += rowTokens[row]!;
  }
  return ranks.map((rows) => rows.sort((a, b) => a - b));
}
