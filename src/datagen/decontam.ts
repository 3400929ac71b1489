/**
 * Decontamination (spec datagen.md §7): word n-gram overlap between a task corpus and benchmark documents.
 *
 * Text is tokenised by lowercasing and splitting on runs of characters outside [a-z0-9]. A benchmark is indexed as the
 * set of all its word n-grams (stride 1); a corpus document is contaminated at n if any of its n-grams is in the index.
 *
 * Speed: text is tokenised straight into integer ids of the benchmark vocabulary (no token strings are built), each
 * n-gram gets two 32-bit polynomial rolling hashes, and the hash pairs live in an open-addressing table of typed arrays.
 * Every key match is confirmed token by token against the benchmark, so a hash collision can cost time but never
 * produce a false positive. An n-gram containing a token the benchmark never uses cannot match and is not hashed.
 */

/** A document to compare: an id (task name, benchmark task name) and its text. */
export interface TextDoc {
  id: string;
  text: string;
}

/** A named benchmark (e.g. "TB2") and its documents (e.g. each task's instruction.md). */
export interface Benchmark {
  name: string;
  docs: readonly TextDoc[];
}

/** The n values used when none are given. */
const DEFAULT_NS: readonly number[] = [13, 8];

/** How many matched n-grams a scan keeps as examples. */
const MAX_EXAMPLES = 3;

const NON_ALNUM = /[^a-z0-9]+/;

/** Lowercase, split on runs of characters outside [a-z0-9], drop empty tokens. */
export function tokenize(text: string): string[] {
  const parts = text.toLowerCase().split(NON_ALNUM);
  // Only the first and the last piece can be empty (leading/trailing separators, or empty text).
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > 0 && parts[0] === "") parts.shift();
  return parts;
}

/** Validate n values (positive integers) and drop duplicates, keeping the given order. */
function normalizeNs(ns: readonly number[]): number[] {
  for (const n of ns) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n-gram size must be a positive integer, got ${n}`);
  }
  return [...new Set(ns)];
}

// ---------------------------------------------------------------------------------------------------------------------
// Vocabulary: token string ↔ integer id

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const GOLDEN = 0x9e3779b1 | 0;

/** Whether a UTF-16 code unit is in [a-z0-9]. */
function isTokenChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/** FNV-1a hash of s[start, end). */
function hashChars(s: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Fields of one vocabulary slot (interleaved so that a probe touches one cache line). */
const V_HASH = 0;
const V_ID = 1; // id + 1, 0 = empty slot
const V_OFF = 2; // offset of the word in `chars`
const V_LEN = 3;
const V_STRIDE = 4;

/**
 * An append-only vocabulary: ids are 0, 1, 2, … in order of first appearance and never change. Lookups hash the
 * characters of a token in place and compare them with a flat character store (open addressing over typed arrays), so
 * encoding a text allocates no token strings.
 */
export class Vocabulary {
  private readonly words: string[] = [];
  private slots = new Int32Array(128 * V_STRIDE);
  private shift = 32 - 7;
  private chars: Uint8Array = new Uint8Array(1024);
  private charsUsed = 0;

  /** Number of distinct tokens. */
  get size(): number {
    return this.words.length;
  }

  /** The token with this id. */
  word(id: number): string {
    const w = this.words[id];
    if (w === undefined) throw new RangeError(`unknown token id ${id}`);
    return w;
  }

  /** The id of a token (as produced by {@link tokenize}), or -1 when unknown. */
  id(token: string): number {
    if (token.length === 0 || !/^[a-z0-9]+$/.test(token)) return -1;
    return this.find(token, 0, token.length, hashChars(token, 0, token.length));
  }

  /** Tokenise text into ids; tokens not in the vocabulary become -1. Same tokens as {@link tokenize}. */
  encodeText(text: string): Int32Array {
    return this.tokenIds(text, false);
  }

  /** Tokenise text into ids, adding new tokens to the vocabulary. */
  learnText(text: string): Int32Array {
    return this.tokenIds(text, true);
  }

  /** Map already tokenised words to ids (-1 when unknown). */
  encode(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.id(tokens[i]!);
    return ids;
  }

  /** One pass over the lowercased text: each maximal [a-z0-9] run is a token, looked up (or added) by its hash. */
  private tokenIds(text: string, learn: boolean): Int32Array {
    const s = text.toLowerCase();
    const len = s.length;
    const out = new Int32Array((len + 1) >> 1);
    let count = 0;
    let i = 0;
    while (i < len) {
      let c = s.charCodeAt(i);
      while (!isTokenChar(c) && ++i < len) c = s.charCodeAt(i);
      if (i >= len) break;
      const start = i;
      let h = FNV_OFFSET;
      do {
        h = Math.imul(h ^ c, FNV_PRIME);
        c = ++i < len ? s.charCodeAt(i) : 0;
      } while (isTokenChar(c));
      out[count++] = learn ? this.intern(s, start, i - start, h) : this.find(s, start, i - start, h);
    }
    return out.slice(0, count);
  }

  /** The id of the word s[start, start+len) with hash h, or -1. */
  private find(s: string, start: number, len: number, h: number): number {
    const { slots, chars } = this;
    const mask = slots.length / V_STRIDE - 1;
    for (let p = Math.imul(h, GOLDEN) >>> this.shift; ; p = (p + 1) & mask) {
      const q = p * V_STRIDE;
      const entry = slots[q + V_ID]!;
      if (entry === 0) return -1;
      if (slots[q + V_HASH] !== h || slots[q + V_LEN] !== len) continue;
      const off = slots[q + V_OFF]!;
      let j = 0;
      while (j < len && chars[off + j] === s.charCodeAt(start + j)) j++;
      if (j === len) return entry - 1;
    }
  }

  /** The id of the word s[start, start+len) with hash h, added if new. */
  private intern(s: string, start: number, len: number, h: number): number {
    const found = this.find(s, start, len, h);
    if (found >= 0) return found;
    const id = this.words.length;
    this.words.push(s.slice(start, start + len));
    if (this.charsUsed + len > this.chars.length) this.chars = grow(this.chars, 2 * (this.charsUsed + len));
    for (let j = 0; j < len; j++) this.chars[this.charsUsed + j] = s.charCodeAt(start + j);
    if (2 * this.words.length > this.slots.length / V_STRIDE) this.rehash(this.slots.length / V_STRIDE * 2);
    this.place(h, id, this.charsUsed, len);
    this.charsUsed += len;
    return id;
  }

  private place(h: number, id: number, off: number, len: number): void {
    const mask = this.slots.length / V_STRIDE - 1;
    let p = Math.imul(h, GOLDEN) >>> this.shift;
    while (this.slots[p * V_STRIDE + V_ID] !== 0) p = (p + 1) & mask;
    this.slots.set([h, id + 1, off, len], p * V_STRIDE);
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    this.slots = new Int32Array(capacity * V_STRIDE);
    this.shift = 32 - Math.log2(capacity);
    for (let q = 0; q < old.length; q += V_STRIDE) {
      if (old[q + V_ID] !== 0) this.place(old[q + V_HASH]!, old[q + V_ID]! - 1, old[q + V_OFF]!, old[q + V_LEN]!);
    }
  }
}

function grow(a: Uint8Array, length: number): Uint8Array {
  const b = new Uint8Array(length);
  b.set(a);
  return b;
}

// ---------------------------------------------------------------------------------------------------------------------
// Rolling n-gram hashes

const M1 = 0x01000193;
const M2 = 0x5bd1e995;

/** Parameters for hashing n-grams of one size: n, M1^n and M2^n mod 2^32, and masks applied to both hashes. */
interface Roller {
  n: number;
  p1: number;
  p2: number;
  mask1: number;
  mask2: number;
}

/** Masks keeping `bits` bits of the (h1, h2) pair: h2's low bits first, then h1's. */
function hashMasks(bits: number): { mask1: number; mask2: number } {
  if (bits >= 64) return { mask1: -1, mask2: -1 };
  if (bits >= 32) return { mask1: (2 ** (bits - 32) - 1) | 0, mask2: -1 };
  return { mask1: 0, mask2: (2 ** bits - 1) | 0 };
}

function makeRoller(n: number, hashBits: number): Roller {
  let p1 = 1;
  let p2 = 1;
  for (let i = 0; i < n; i++) {
    p1 = Math.imul(p1, M1);
    p2 = Math.imul(p2, M2);
  }
  return { n, p1, p2, ...hashMasks(hashBits) };
}

/** The value a token id contributes to the hashes (spread over 32 bits). */
function tokenValue(id: number): number {
  return Math.imul(id + 1, GOLDEN);
}

type WindowVisitor = (start: number, h1: number, h2: number) => void;

/** Call `visit` for every window of n ids inside ids[from, to), all of which must be known (>= 0). */
function rollRun(ids: Int32Array, from: number, to: number, r: Roller, visit: WindowVisitor): void {
  const { n, p1, p2, mask1, mask2 } = r;
  let h1 = 0;
  let h2 = 0;
  for (let i = from; i < from + n; i++) {
    const x = tokenValue(ids[i]!);
    h1 = (Math.imul(h1, M1) + x) | 0;
    h2 = (Math.imul(h2, M2) + x) | 0;
  }
  visit(from, h1 & mask1, h2 & mask2);
  for (let i = from + n; i < to; i++) {
    const out = tokenValue(ids[i - n]!);
    const x = tokenValue(ids[i]!);
    h1 = (Math.imul(h1, M1) - Math.imul(out, p1) + x) | 0;
    h2 = (Math.imul(h2, M2) - Math.imul(out, p2) + x) | 0;
    visit(i - n + 1, h1 & mask1, h2 & mask2);
  }
}

/** Call `visit` for every n-gram of ids that contains no unknown token (id < 0). */
function forEachWindow(ids: Int32Array, r: Roller, visit: WindowVisitor): void {
  let runStart = 0;
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && ids[i]! >= 0) continue;
    if (i - runStart >= r.n) rollRun(ids, runStart, i, r, visit);
    runStart = i + 1;
  }
}

/** Whether a[aStart, aStart+n) and b[bStart, bStart+n) hold the same ids. */
function sameIds(a: Int32Array, aStart: number, b: Int32Array, bStart: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (a[aStart + j] !== b[bStart + j]) return false;
  return true;
}

/** Fields of one n-gram slot (interleaved so that a probe touches one cache line). */
const G_H1 = 0;
const G_H2 = 1;
const G_DOC = 2; // document index + 1, 0 = empty slot
const G_OFF = 3; // token offset in the document
const G_STRIDE = 4;

/**
 * The distinct n-grams of a set of documents for one n: open addressing, one slot per distinct n-gram holding its hash
 * pair and where it occurs (document, token offset), so lookups can compare the actual tokens. A small bit filter in
 * front (about 16 bits per n-gram) answers most misses without touching the table.
 */
class NgramTable {
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly filter: Int32Array;
  private readonly filterShift: number;
  /** Distinct n-grams stored. */
  size = 0;

  constructor(
    private readonly docs: readonly Int32Array[],
    private readonly n: number,
  ) {
    const bound = docs.reduce((sum, d) => sum + Math.max(0, d.length - n + 1), 0);
    const bits = Math.max(4, Math.ceil(Math.log2(2 * bound + 1)));
    if (bits > 28) throw new RangeError(`too many benchmark n-grams to index (${bound})`);
    this.slots = new Int32Array(2 ** bits * G_STRIDE);
    this.shift = 32 - bits;
    const filterBits = Math.min(31, Math.max(10, Math.ceil(Math.log2(16 * bound + 1))));
    this.filter = new Int32Array(2 ** (filterBits - 5));
    this.filterShift = 32 - filterBits;
  }

  /** Add the n-gram docs[doc][start, start+n) unless an identical one is present. */
  insert(doc: number, start: number, h1: number, h2: number): void {
    const ids = this.docs[doc]!;
    const mask = this.slots.length / G_STRIDE - 1;
    let p = this.slot(h1, h2);
    for (; this.slots[p * G_STRIDE + G_DOC] !== 0; p = (p + 1) & mask) {
      if (this.matches(p * G_STRIDE, h1, h2, ids, start)) return;
    }
    this.slots.set([h1, h2, doc + 1, start], p * G_STRIDE);
    const f = this.filterBit(h1, h2);
    this.filter[f >>> 5] = this.filter[f >>> 5]! | (1 << (f & 31));
    this.size++;
  }

  /** Whether the n-gram ids[start, start+n), with hashes (h1, h2), is in the table (confirmed token by token). */
  has(ids: Int32Array, start: number, h1: number, h2: number): boolean {
    const f = this.filterBit(h1, h2);
    if ((this.filter[f >>> 5]! & (1 << (f & 31))) === 0) return false;
    const mask = this.slots.length / G_STRIDE - 1;
    for (let p = this.slot(h1, h2); this.slots[p * G_STRIDE + G_DOC] !== 0; p = (p + 1) & mask) {
      if (this.matches(p * G_STRIDE, h1, h2, ids, start)) return true;
    }
    return false;
  }

  private slot(h1: number, h2: number): number {
    return Math.imul(h1 ^ Math.imul(h2, 0x85ebca6b), GOLDEN) >>> this.shift;
  }

  private filterBit(h1: number, h2: number): number {
    return Math.imul(h2 ^ Math.imul(h1, 0xc2b2ae35), GOLDEN) >>> this.filterShift;
  }

  /** Whether slot q holds the hashes (h1, h2) and the same tokens as ids[start, start+n). */
  private matches(q: number, h1: number, h2: number, ids: Int32Array, start: number): boolean {
    const s = this.slots;
    if (s[q + G_H1] !== h1 || s[q + G_H2] !== h2) return false;
    return sameIds(this.docs[s[q + G_DOC]! - 1]!, s[q + G_OFF]!, ids, start, this.n);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Index

/** Options of {@link NgramIndex}. */
export interface NgramIndexOptions {
  /**
   * Keep only this many bits of each n-gram's 64-bit hash pair (1..64, default 64). Lower values force hash collisions;
   * they exist to test that exact confirmation never lets one n-gram pass for another, and only make scanning slower.
   */
  hashBits?: number;
  /**
   * Vocabulary to add the documents' tokens to, e.g. one shared by the indexes of several benchmarks so that a corpus
   * document is encoded once for all of them. Default: a vocabulary of this index's own.
   */
  vocabulary?: Vocabulary;
}

/** Result of scanning one document at one n. */
export interface NgramScan {
  /** Positions whose n-gram occurs in the benchmark (every matching position counts). */
  hits: number;
  /** N-grams scanned: max(0, tokens − n + 1). */
  ngrams: number;
  /** The first {@link MAX_EXAMPLES} matched n-grams, tokens joined by single spaces. */
  matched: string[];
}

/** Word n-gram index over benchmark documents, for each of several n. */
export class NgramIndex {
  /** The n values this index can answer for. */
  readonly ns: readonly number[];
  /** Ids of the indexed documents, in input order. */
  readonly docIds: readonly string[];
  /** Token ids of the indexed documents and of encoded texts. */
  readonly vocabulary: Vocabulary;
  private readonly tables = new Map<number, { table: NgramTable; roller: Roller }>();

  constructor(docs: readonly TextDoc[], ns: readonly number[] = DEFAULT_NS, options: NgramIndexOptions = {}) {
    const bits = options.hashBits ?? 64;
    if (!Number.isInteger(bits) || bits < 1 || bits > 64) throw new RangeError(`hashBits must be 1..64, got ${bits}`);
    this.ns = normalizeNs(ns);
    this.docIds = docs.map((d) => d.id);
    this.vocabulary = options.vocabulary ?? new Vocabulary();
    const encoded = docs.map((d) => this.vocabulary.learnText(d.text));
    for (const n of this.ns) {
      const roller = makeRoller(n, bits);
      const table = new NgramTable(encoded, n);
      encoded.forEach((ids, doc) => forEachWindow(ids, roller, (start, h1, h2) => table.insert(doc, start, h1, h2)));
      this.tables.set(n, { table, roller });
    }
  }

  /** Number of distinct n-grams indexed for n. */
  distinctNgrams(n: number): number {
    return this.forN(n).table.size;
  }

  /** Tokenise text into vocabulary ids (-1 for tokens that no document indexed with this vocabulary uses). */
  encode(text: string): Int32Array {
    return this.vocabulary.encodeText(text);
  }

  /** Scan encoded tokens (from {@link encode}) for n-grams present in the index. */
  scanIds(ids: Int32Array, n: number): NgramScan {
    const { table, roller } = this.forN(n);
    const scan: NgramScan = { hits: 0, ngrams: Math.max(0, ids.length - n + 1), matched: [] };
    forEachWindow(ids, roller, (start, h1, h2) => {
      if (!table.has(ids, start, h1, h2)) return;
      scan.hits++;
      if (scan.matched.length < MAX_EXAMPLES) scan.matched.push(this.phrase(ids, start, n));
    });
    return scan;
  }

  /** The n-gram ids[start, start+n) as space-joined tokens. */
  private phrase(ids: Int32Array, start: number, n: number): string {
    const words: string[] = [];
    for (let j = start; j < start + n; j++) words.push(this.vocabulary.word(ids[j]!));
    return words.join(" ");
  }

  private forN(n: number): { table: NgramTable; roller: Roller } {
    const entry = this.tables.get(n);
    if (entry === undefined) throw new RangeError(`n = ${n} is not indexed (indexed: ${this.ns.join(", ")})`);
    return entry;
  }
}

/** Scan one document (or its tokens, as produced by {@link tokenize}) against the index at n. */
export function scan(index: NgramIndex, doc: TextDoc | readonly string[], n: number): NgramScan {
  const ids = "text" in doc ? index.encode(doc.text) : index.vocabulary.encode(doc);
  return index.scanIds(ids, n);
}

// ---------------------------------------------------------------------------------------------------------------------
// Corpus report

/** One (benchmark, n) line of the report. */
export interface DecontamRow {
  benchmark: string;
  n: number;
  /** Corpus documents scanned. */
  docs: number;
  /** Corpus documents with at least one hit. */
  contaminated: number;
  /** contaminated / docs (0 when there are no docs). */
  rate: number;
  /** Matching n-gram positions over all corpus documents. */
  hits: number;
  /** N-grams scanned over all corpus documents. */
  ngramsScanned: number;
  /** Ids of the contaminated documents, in corpus order. */
  contaminatedIds: string[];
}

/** One (benchmark, n) that flagged a corpus document. */
export interface DocFlag {
  benchmark: string;
  n: number;
  hits: number;
  /** Up to {@link MAX_EXAMPLES} matched n-grams. */
  examples: string[];
}

/** A contaminated corpus document and everything that flagged it. */
export interface FlaggedDoc {
  id: string;
  flags: DocFlag[];
}

/** Result of {@link decontaminate}; plain data, JSON-serialisable as is. */
export interface DecontamReport {
  ns: number[];
  benchmarks: string[];
  /** One row per (benchmark, n): benchmarks in input order, then n in `ns` order. */
  rows: DecontamRow[];
  /** Corpus documents flagged by at least one (benchmark, n), in corpus order. */
  flagged: FlaggedDoc[];
}

/** Options of {@link decontaminate}. */
export type DecontaminateOptions = Pick<NgramIndexOptions, "hashBits">;

function emptyRow(benchmark: string, n: number): DecontamRow {
  return { benchmark, n, docs: 0, contaminated: 0, rate: 0, hits: 0, ngramsScanned: 0, contaminatedIds: [] };
}

/** Scan one encoded corpus document against every (benchmark, n), updating rows; returns the flags it raised. */
function scanDoc(
  id: string,
  ids: Int32Array,
  indexes: readonly NgramIndex[],
  names: readonly string[],
  rows: DecontamRow[],
): DocFlag[] {
  const flags: DocFlag[] = [];
  let r = 0;
  indexes.forEach((index, b) => {
    for (const n of index.ns) {
      const s = index.scanIds(ids, n);
      const row = rows[r++]!;
      row.docs++;
      row.ngramsScanned += s.ngrams;
      if (s.hits === 0) continue;
      row.hits += s.hits;
      row.contaminated++;
      row.contaminatedIds.push(id);
      flags.push({ benchmark: names[b]!, n, hits: s.hits, examples: s.matched });
    }
  });
  return flags;
}

/**
 * Compare every corpus document with every benchmark at each n. The benchmarks share one vocabulary, so each corpus
 * document is tokenised once and scanned against all (benchmark, n) pairs before the next; memory stays proportional
 * to the benchmarks, not the corpus.
 */
export function decontaminate(
  corpus: readonly TextDoc[],
  benchmarks: readonly Benchmark[],
  ns: readonly number[] = DEFAULT_NS,
  options: DecontaminateOptions = {},
): DecontamReport {
  const uniqueNs = normalizeNs(ns);
  const vocabulary = new Vocabulary();
  const names = benchmarks.map((b) => b.name);
  const indexes = benchmarks.map((b) => new NgramIndex(b.docs, uniqueNs, { ...options, vocabulary }));
  const rows = names.flatMap((name) => uniqueNs.map((n) => emptyRow(name, n)));
  const flagged: FlaggedDoc[] = [];
  for (const doc of corpus) {
    const flags = scanDoc(doc.id, vocabulary.encodeText(doc.text), indexes, names, rows);
    if (flags.length > 0) flagged.push({ id: doc.id, flags });
  }
  for (const row of rows) row.rate = row.docs === 0 ? 0 : row.contaminated / row.docs;
  return { ns: uniqueNs, benchmarks: names, rows, flagged };
}

/** Ids of corpus documents flagged at n by the given benchmarks (all benchmarks when omitted). */
export function contaminatedIds(report: DecontamReport, n: number, benchmarks?: readonly string[]): Set<string> {
  const wanted = benchmarks === undefined ? undefined : new Set(benchmarks);
  const ids = new Set<string>();
  for (const row of report.rows) {
    if (row.n !== n || (wanted !== undefined && !wanted.has(row.benchmark))) continue;
    for (const id of row.contaminatedIds) ids.add(id);
  }
  return ids;
}

/** The corpus without the documents flagged at n (by the given benchmarks, or any), matched by id. */
export function removeContaminated<T extends { id: string }>(
  corpus: readonly T[],
  report: DecontamReport,
  n: number,
  benchmarks?: readonly string[],
): T[] {
  const drop = contaminatedIds(report, n, benchmarks);
  return corpus.filter((d) => !drop.has(d.id));
}

// ---------------------------------------------------------------------------------------------------------------------
// Rendering

/** Rate as a percentage with two decimals, e.g. 0.0125 → "1.25". */
function percent(rate: number): string {
  return (rate * 100).toFixed(2);
}

/** A markdown table: benchmark, n, docs, contaminated, rate %, hits, n-grams scanned. */
export function reportMarkdown(report: DecontamReport): string {
  const lines = [
    "| benchmark | n | docs | contaminated | rate % | hits | n-grams scanned |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of report.rows) {
    const name = r.benchmark.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
    lines.push(`| ${name} | ${r.n} | ${r.docs} | ${r.contaminated} | ${percent(r.rate)} | ${r.hits} | ${r.ngramsScanned} |`);
  }
  return lines.join("\n") + "\n";
}

/** Quote a CSV field when it contains a comma, quote, CR or LF (RFC 4180), doubling inner quotes. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV: a header line and one line per (benchmark, n) row; `rate` is a fraction; lines end with "\n". */
export function reportCsv(report: DecontamReport): string {
  const header = ["benchmark", "n", "docs", "contaminated", "rate", "hits", "ngrams_scanned"];
  const lines = [header.join(",")];
  for (const r of report.rows) {
    lines.push([r.benchmark, r.n, r.docs, r.contaminated, r.rate, r.hits, r.ngramsScanned].map(csvField).join(","));
  }
  return lines.join("\n") + "\n";
}
