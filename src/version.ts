import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** tmax's version, from package.json (two levels up from both src/ and dist/). */
export const TMAX_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string };
    return pkg.version;
  } catch {
    return "0.0.0";
  }
})();
