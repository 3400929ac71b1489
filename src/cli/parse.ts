import { InvalidArgumentError } from "commander";

/** Parses `key=value`; the value is JSON when it parses as JSON (numbers, booleans, objects), else a string. */
export function parseKwarg(text: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const i = text.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${text}"`);
  const key = text.slice(0, i);
  const raw = text.slice(i + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { ...previous, [key]: value };
}

/** Parses `KEY=VALUE` into a string map. */
export function parseEnvPair(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = text.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${text}"`);
  return { ...previous, [text.slice(0, i)]: text.slice(i + 1) };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Whitespace-separated words (no quoting: for flags like torchrun's that hold no spaces). */
export function splitWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

export function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${text}"`);
  return n;
}

export function nonNegativeInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${text}"`);
  return n;
}

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${text}"`);
  return n;
}

export function nonNegativeNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${text}"`);
  return n;
}
