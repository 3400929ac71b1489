/** A lazy, cached value: `fn` runs on the first call; every call returns the same promise (its value or its error). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= fn());
}
