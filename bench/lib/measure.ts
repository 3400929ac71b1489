import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SEC = 100; // Linux USER_HZ

/** CPU seconds of all reaped children of this process (utime+stime of /proc/self/stat fields 16 and 17). */
export function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); cutime is field 16, cstime field 17.
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SEC;
}

function childrenOf(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(name));
      kids.set(ppid, list);
    } catch {
      // process exited
    }
  }
  return kids;
}

/** Resident memory (MB) of a process and all its descendants. */
export function treeRssMb(pid: number): number {
  const kids = childrenOf();
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) total += Number(m[1]) / 1024;
    } catch {
      // gone
    }
    stack.push(...(kids.get(p) ?? []));
  }
  return total;
}

export interface Measured {
  wallSec: number;
  cpuSec: number;
  peakRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, measuring wall time, CPU of the whole reaped process tree, and peak tree RSS. */
export async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const cpu0 = childrenCpuSeconds();
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const poll = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treeRssMb(child.pid));
  }, 100);
  const code = await new Promise<number | null>((r) => child.once("close", r));
  clearInterval(poll);
  return { wallSec: (performance.now() - t0) / 1000, cpuSec: childrenCpuSeconds() - cpu0, peakRssMb: peak, code, stdout, stderr };
}
