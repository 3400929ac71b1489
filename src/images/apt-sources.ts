import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** debootstrap's own default, used when the machine's apt configuration names no usable Debian archive. */
export const FALLBACK_MIRROR = "http://deb.debian.org/debian";

/** One apt source entry (a sources.list line, or one URI of a deb822 stanza). */
export interface AptSource {
  /** File it came from (for messages). */
  file: string;
  types: string[];
  uri: string;
  suites: string[];
  components: string[];
  enabled: boolean;
}

/** Parses one-line-style text (`deb [opts] URI suite component…`); `#` starts a comment anywhere on a line. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    // A cdrom: URI carries the disc's label in brackets, spaces included.
    const m = /^(\S+)\s+(?:\[[^\]]*\]\s*)?(cdrom:\[[^\]]*\]\S*|\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (!m) continue;
    out.push({ file, types: [m[1]!], uri: m[2]!, suites: [m[3]!], components: m[4]!.trim().split(/\s+/).filter(Boolean), enabled: true });
  }
  return out;
}

const FALSE = /^(no|false|off|0|disable|without)$/i;

/** Parses deb822-style text (`Types:`, `URIs:`, `Suites:`, `Components:`, `Enabled:`), one entry per URI. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let last: string | null = null;
  const flush = (): void => {
    const list = (k: string): string[] => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
    const enabled = !FALSE.test((fields.get("enabled") ?? "yes").trim());
    for (const uri of list("uris")) {
      out.push({ file, types: list("types"), uri, suites: list("suites"), components: list("components"), enabled });
    }
    fields = new Map();
    last = null;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      flush();
    } else if (line.startsWith("#")) {
      continue;
    } else if (/^\s/.test(line)) {
      // A continuation line (e.g. an embedded Signed-By key) belongs to the previous field.
      if (last) fields.set(last, `${fields.get(last)} ${line.trim()}`);
    } else {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      fields.set(last, line.slice(colon + 1).trim());
    }
  }
  flush();
  return out;
}

/** Every entry of the apt configuration under `aptDir`, in apt's reading order (sources.list, then sources.list.d/ by name). */
export function readAptSources(aptDir = "/etc/apt"): AptSource[] {
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return null;
    }
  };
  const out: AptSource[] = [];
  const main = join(aptDir, "sources.list");
  const mainText = read(main);
  if (mainText !== null) out.push(...parseOneLineSources(mainText, main));
  let names: string[] = [];
  try {
    names = readdirSync(join(aptDir, "sources.list.d")).sort();
  } catch {
    // no sources.list.d
  }
  for (const name of names) {
    const path = join(aptDir, "sources.list.d", name);
    if (name.endsWith(".list")) out.push(...parseOneLineSources(read(path) ?? "", path));
    else if (name.endsWith(".sources")) out.push(...parseDeb822Sources(read(path) ?? "", path));
  }
  return out;
}

/** Debian's suite names: codenames and the release aliases. */
const DEBIAN_SUITES = new Set([
  ..."buzz rex bo hamm slink potato woody sarge etch lenny squeeze wheezy jessie stretch buster bullseye bookworm".split(" "),
  ..."trixie forky duke sid stable testing unstable oldstable oldoldstable".split(" "),
]);
/** Suites that live in the main archive next to a release: `<codename>-updates` etc. (not -security: another archive). */
const FAMILY_SUFFIXES = ["updates", "backports", "backports-sloppy", "proposed-updates"];

const isDebianSuite = (s: string): boolean =>
  DEBIAN_SUITES.has(s) || FAMILY_SUFFIXES.some((x) => s.endsWith(`-${x}`) && DEBIAN_SUITES.has(s.slice(0, -x.length - 1)));

/** Schemes debootstrap can fetch from (apt-only methods such as cdrom:, copy:, mirror+…, tor+… are not usable). */
const USABLE_URI = /^(https?|ftp):\/\/|^file:/;

const isSecurityArchive = (e: AptSource): boolean =>
  e.suites.some((s) => s.endsWith("-security") || s.includes("/updates")) || /security/i.test(e.uri);

/**
 * The mirror `debootstrap <suite>` should use, from the machine's apt entries: among enabled `deb` entries with a
 * usable URI (http, https, ftp, file), component `main`, and not a security archive, the first one that lists
 * `suite` itself; else the first that lists a suite of its family in the same archive (`<suite>-updates`,
 * `-backports`, `-proposed-updates`); else — when `suite` is a Debian suite — the first that lists any Debian suite
 * (a Debian mirror carries every current release). Other distributions' and third-party repositories (Ubuntu,
 * PostgreSQL's `bookworm-pgdg`, Docker's `stable` component) never qualify. null when nothing does.
 */
export function chooseDebianMirror(entries: AptSource[], suite: string): { uri: string; file: string } | null {
  const usable = entries.filter(
    (e) => e.enabled && e.types.includes("deb") && USABLE_URI.test(e.uri) && e.components.includes("main") && !isSecurityArchive(e),
  );
  const family = FAMILY_SUFFIXES.map((x) => `${suite}-${x}`);
  const ranks: ((e: AptSource) => boolean)[] = [
    (e) => e.suites.includes(suite),
    (e) => e.suites.some((s) => family.includes(s)),
    ...(isDebianSuite(suite) ? [(e: AptSource) => e.suites.some(isDebianSuite)] : []),
  ];
  for (const matches of ranks) {
    const hit = usable.find(matches);
    if (hit) return { uri: hit.uri.replace(/\/+$/, ""), file: hit.file };
  }
  return null;
}

/** The default mirror for `tmax images bootstrap`: from the apt configuration, else FALLBACK_MIRROR. */
export function defaultMirror(suite: string, aptDir = "/etc/apt"): { mirror: string; from: string | null } {
  const chosen = chooseDebianMirror(readAptSources(aptDir), suite);
  return chosen ? { mirror: chosen.uri, from: chosen.file } : { mirror: FALLBACK_MIRROR, from: null };
}
