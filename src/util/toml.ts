import { parse } from "smol-toml";

/**
 * Parses a TOML document the way Harbor's Python reader (tomllib) does: integers of any size are accepted. Those a
 * JS number cannot hold exactly (beyond ±(2^53 − 1)) come back as BigInt, the rest as numbers; smol-toml's stringify
 * writes a BigInt back as the same integer. Throws smol-toml's TomlError on invalid TOML.
 */
export function parseTomlDocument(text: string): Record<string, unknown> {
  return parse(text, { integersAsBigInt: "asNeeded" });
}
