import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSnapshot, processesToEnd } from "../../src/verifier/agent-processes.js";

/** Shaped like SNAPSHOT_SCRIPT's output in a Debian container (tables shortened to the columns that matter). */
const SNAPSHOT = [
  "SELF 40 39",
  "TABLE tcp",
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "   0: 00000000:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0 100 0 0 10 0",
  "   1: 0100007F:1E61 0100007F:93F6 01 00000001:00000000 01:00000014 00000000     0        0 5009 2 0 20 0 0 11 -1",
  "TABLE tcp6",
  "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "TABLE udp",
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
  "  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 6001 2 0 0",
  "TABLE udp6",
  "TABLE unix",
  "Num       RefCount Protocol Flags    Type St Inode Path",
  "0000000000000000: 00000002 00000000 00010000 0001 01 7001 /run/db.sock",
  "0000000000000000: 00000003 00000000 00000000 0001 03 7002",
  "STATS",
  "1 (sh) S 0 1 1 0 -1 4194560 0",
  "7 (sleep) S 1 1 1 0 -1 4194560 0",
  "15 (perl) S 1 15 15 0 -1 4194560 0",
  "20 (supervisor (x)) S 1 20 20 0 -1 0",
  "21 (dnsd) S 20 20 20 0 -1 0",
  "25 (bash) S 1 25 25 0 -1 0",
  "26 (sleep) S 25 25 25 0 -1 0",
  "30 (db) S 1 30 30 0 -1 0",
  "31 (client) S 1 31 31 0 -1 0",
  "39 (sh) S 0 39 39 0 -1 0",
  "40 (bash) S 39 39 39 0 -1 0",
  "FDS",
  "/proc/15/fd:",
  "total 0",
  "lrwx------ 1 root root 64 Dec  1 10:44 3 -> socket:[5001]",
  "",
  "/proc/21/fd:",
  "lrwx------ 1 root root 64 Dec  1 10:44 4 -> socket:[6001]",
  "",
  "/proc/25/fd:",
  "l-wx------ 1 root root 64 Dec  1 10:44 1 -> /logs/verifier/reward.txt",
  "",
  "/proc/30/fd:",
  "lrwx------ 1 root root 64 Dec  1 10:44 5 -> socket:[7001]",
  "",
  "/proc/31/fd:",
  "lrwx------ 1 root root 64 Dec  1 10:44 3 -> socket:[5009]",
  "lrwx------ 1 root root 64 Dec  1 10:44 4 -> socket:[7002]",
].join("\n");

test("the snapshot: listening TCP, bound UDP and listening unix sockets; parents and names (comm may hold parentheses)", () => {
  const snap = parseSnapshot(SNAPSHOT);
  assert.deepEqual(snap.self, [40, 39]);
  assert.deepEqual([...snap.listening].sort(), ["5001", "6001", "7001"]);
  assert.equal(snap.parents.get(21), 20);
  assert.equal(snap.names.get(20), "supervisor (x)");
  assert.deepEqual([...(snap.sockets.get(31) ?? [])].sort(), ["5009", "7002"]);
});

test("policy servers: servers and their ancestors stay; loops, their children and clients of servers end", () => {
  assert.deepEqual(processesToEnd(parseSnapshot(SNAPSHOT), "servers"), [25, 26, 31]);
});

test("policy all: everything but init, its keep-alive sleep and the snapshot's own shell ends", () => {
  assert.deepEqual(processesToEnd(parseSnapshot(SNAPSHOT), "all"), [15, 20, 21, 25, 26, 30, 31]);
});

test("a sleep that is not init's child is not spared", () => {
  const snap = parseSnapshot(SNAPSHOT);
  assert.ok(processesToEnd(snap, "servers").includes(26));
});
