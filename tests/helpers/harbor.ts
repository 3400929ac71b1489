import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "./cli.js";

/**
 * Harbor's own code, run on tmax's files: `tests/helpers/harbor_check.py` in the image `scripts/harbor-image.sh`
 * builds (Debian 13, Python 3.13, a pinned `harbor` from the package index), with the paths a test names
 * bind-mounted at their host paths. The first call builds the image when it is missing (about two minutes, once
 * per Harbor version); later calls and later runs reuse it.
 */

let image: string | null = null;
let conf: string | null = null;

function containersConf(): string {
  if (process.env.CONTAINERS_CONF) return process.env.CONTAINERS_CONF;
  if (!conf) {
    const dir = mkdtempSync(join(tmpdir(), "tmax-harbor-conf-"));
    conf = join(dir, "containers.conf");
    const runc = spawnSync("sh", ["-c", "command -v runc"], { stdio: "ignore" }).status === 0;
    writeFileSync(conf, `[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n${runc ? 'runtime = "runc"\n' : ""}`);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return conf;
}

/** The Harbor test image's tag, built first if needed. */
export function harborImage(): string {
  if (image) return image;
  const r = spawnSync("bash", [join(REPO, "scripts", "harbor-image.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`scripts/harbor-image.sh failed (exit ${r.status})`);
  image = r.stdout.trim().split("\n").pop()!;
  return image;
}

/**
 * Runs `harbor_check.py COMMAND ARGS…` in the Harbor image without network, with `mounts` (host paths) mounted
 * read-write at the same paths, and returns its JSON output.
 */
export function harborCheck<T>(command: string, args: string[], mounts: string[], env: Record<string, string> = {}): T {
  const tag = harborImage();
  const volumes = [...new Set(mounts)].flatMap((m) => ["-v", `${m}:${m}`]);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const script = join(REPO, "tests", "helpers", "harbor_check.py");
  const r = spawnSync(
    "podman",
    ["run", "--rm", "--network", "none", "--label", "tmax-test=harbor-check", ...volumes, ...envArgs, "-v", `${script}:/harbor_check.py:ro`, tag,
      "/opt/harbor/bin/python", "/harbor_check.py", command, ...args],
    { encoding: "utf8", env: { ...process.env, CONTAINERS_CONF: containersConf() }, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`harbor_check.py ${command} failed (exit ${r.status}):\n${r.stderr}\n${r.stdout}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`harbor_check.py ${command}: no JSON on stdout:\n${r.stdout}\n${r.stderr}`);
  }
}

export interface HarborValidation {
  /** Per file (relative to the job dir): null when Harbor's model accepts it, else the first lines of its error. */
  files: Record<string, string | null>;
  /** Per file: values Harbor writes differently after reading it (1 -> 1.0, a timestamp without its zone, a secret it masks). */
  diffs: Record<string, string[]>;
  scanner: { jobs: string[]; config: boolean; result: boolean; trials: string[]; unreadable_trials: string[] };
}

export interface HarborResume {
  ok: boolean;
  error: string | null;
  remaining?: number;
  existing?: number;
}
