/**
 * Which of the processes the agent left in the sandbox end before the tests run.
 *
 * - `all`: every process but the container's init. Nothing the agent started can touch the verifier's files, but
 *   tasks whose tests talk to a server the agent was asked to leave running (a web server, a VM) then fail.
 * - `servers` (default): every process except servers — processes holding a listening TCP/UDP/Unix socket — and
 *   their ancestors. This keeps what such tasks' tests need and still ends the background loops, watchers and
 *   stray jobs an agent leaves behind. A process that both serves a socket and tampers with the verifier's files is
 *   not caught; `all` catches it.
 */
export type AgentProcessPolicy = "all" | "servers";

/**
 * A shell snippet (run as root inside the container) printing what the decision needs: the script's own pid and its
 * parent, the kernel's socket tables, each process's stat line, and every process's open file descriptors.
 */
export const SNAPSHOT_SCRIPT = [
  'echo "SELF $$ $PPID"',
  "for t in tcp tcp6 udp udp6 unix; do echo \"TABLE $t\"; cat /proc/net/$t 2>/dev/null; done",
  'echo "STATS"',
  'for d in /proc/[0-9]*; do [ -r "$d/stat" ] && { read -r line < "$d/stat"; echo "$line"; } 2>/dev/null; done',
  'echo "FDS"',
  "ls -l /proc/[0-9]*/fd 2>/dev/null; true",
].join("\n");

export interface ProcessSnapshot {
  self: number[];
  /** pid → parent pid */
  parents: Map<number, number>;
  /** pid → command name (the kernel's comm) */
  names: Map<number, string>;
  /** inodes of listening sockets */
  listening: Set<string>;
  /** pid → socket inodes it holds */
  sockets: Map<number, Set<string>>;
}

/** Inodes of listening sockets in one /proc/net table. */
function listeningInodes(table: string, lines: string[], out: Set<string>): void {
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (table === "unix") {
      // Num RefCount Protocol Flags Type St Inode [Path]; __SO_ACCEPTCON (0x10000) marks a listening socket.
      if (f.length >= 7 && (parseInt(f[3] ?? "0", 16) & 0x10000) !== 0) out.add(f[6]!);
    } else if (table.startsWith("tcp")) {
      if (f[3] === "0A") out.add(f[9]!); // TCP_LISTEN
    } else if (f[3] === "07" && !/:0000$/.test(f[1] ?? ":0000")) {
      out.add(f[9]!); // a bound, unconnected UDP socket: a UDP server
    }
  }
}

/** Parses the output of SNAPSHOT_SCRIPT. */
export function parseSnapshot(text: string): ProcessSnapshot {
  const snap: ProcessSnapshot = { self: [], parents: new Map(), names: new Map(), listening: new Set(), sockets: new Map() };
  let section = "";
  let table = "";
  let tableLines: string[] = [];
  let fdPid: number | null = null;
  const flushTable = (): void => {
    if (table) listeningInodes(table, tableLines, snap.listening);
    table = "";
    tableLines = [];
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("SELF ")) {
      snap.self = line.split(" ").slice(1).map(Number).filter((n) => n > 0);
      continue;
    }
    if (line.startsWith("TABLE ")) {
      flushTable();
      section = "table";
      table = line.slice(6).trim();
      continue;
    }
    if (line === "STATS" || line === "FDS") {
      flushTable();
      section = line;
      continue;
    }
    if (section === "table") tableLines.push(line);
    else if (section === "STATS") {
      // pid (comm) state ppid ...; comm may hold spaces and parentheses.
      const close = line.lastIndexOf(")");
      if (close < 0) continue;
      const pid = Number(line.slice(0, line.indexOf(" ")));
      const ppid = Number(line.slice(close + 2).split(" ")[1]);
      if (!(pid > 0 && Number.isFinite(ppid))) continue;
      snap.parents.set(pid, ppid);
      snap.names.set(pid, line.slice(line.indexOf("(") + 1, close));
    } else if (section === "FDS") {
      const header = /^\/proc\/(\d+)\/fd:$/.exec(line);
      if (header) {
        fdPid = Number(header[1]);
        continue;
      }
      const socket = /-> socket:\[(\d+)\]$/.exec(line);
      if (socket && fdPid !== null) {
        let set = snap.sockets.get(fdPid);
        if (!set) snap.sockets.set(fdPid, (set = new Set()));
        set.add(socket[1]!);
      }
    }
  }
  flushTable();
  return snap;
}

/**
 * The pids to kill under `policy`. Never init (1), its `sleep` (the container's keep-alive loop, which would only
 * be restarted), or the snapshot's own shell and its parent.
 */
export function processesToEnd(snap: ProcessSnapshot, policy: AgentProcessPolicy): number[] {
  const keep = new Set<number>([1, ...snap.self]);
  for (const [pid, ppid] of snap.parents) if (ppid === 1 && snap.names.get(pid) === "sleep") keep.add(pid);
  if (policy === "servers") {
    for (const [pid, inodes] of snap.sockets) {
      if (![...inodes].some((i) => snap.listening.has(i))) continue;
      // The server and its ancestors (a supervisor, a reloader) stay.
      for (let p: number | undefined = pid; p !== undefined && p > 1 && !keep.has(p); p = snap.parents.get(p)) keep.add(p);
    }
  }
  return [...snap.parents.keys()].filter((pid) => !keep.has(pid)).sort((a, b) => a - b);
}
