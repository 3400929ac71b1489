import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import Docker from "dockerode";
import { Hono, type Context } from "hono";
import tarStream from "tar-stream";
import type { CreateSandbox, CreateSnapshot, Sandbox as SandboxDto, SnapshotDto, StorageAccessDto } from "@daytona/api-client";
import type { Command, ExecuteResponse, SessionCommandLogsResponse, SessionExecuteRequest } from "@daytona/toolbox-api-client";
import { PodmanService } from "../../src/environment/podman-service.js";
import { extractTar, tarDirectory } from "../../src/environment/tar.js";
import { serveOnLoopback, type LoopbackServer } from "./loopback-server.js";

/**
 * A local stand-in of the part of Daytona's HTTP API that the official TypeScript SDK (@daytonaio/sdk) calls when
 * tmax's provider drives it — no Daytona service is reachable from here. Request and response bodies follow the
 * SDK's own types (@daytona/api-client, @daytona/toolbox-api-client). Behind it, every sandbox is a real podman
 * container and every snapshot a real image built by podman from the Dockerfile and the context files the SDK
 * uploaded to the (stand-in) object storage, so commands, files and builds are real; what is not Daytona's is the
 * service itself: no runners, regions, quotas, event stream (the SDK falls back to polling) or network enforcement
 * (a blocked sandbox gets podman's `--network none`; allow lists are only recorded).
 */

/** A canned answer for the next `times` requests matching `method` and `path` (to test retries and auth errors). */
export interface Fault {
  method: string;
  path: RegExp;
  status: number;
  times: number;
  headers?: Record<string, string>;
  message?: string;
}

interface Exec {
  command: string;
  stdout: Buffer[];
  stderr: Buffer[];
  exitCode?: number;
}

interface StandinSandbox {
  dto: SandboxDto;
  containerId: string;
  sessions: Map<string, Map<string, Exec>>;
}

interface StandinSnapshot {
  dto: SnapshotDto;
  image: string;
}

export interface DaytonaStandin {
  /** The API URL to give the SDK (`apiUrl`, DAYTONA_API_URL). */
  apiUrl: string;
  apiKey: string;
  /** Every CreateSandbox body the SDK sent, in order. */
  created: CreateSandbox[];
  /** Every CreateSnapshot body the SDK sent, in order (refused ones too). */
  snapshotCreates: CreateSnapshot[];
  /** Every request (method and path below /api or /toolbox), in order. */
  requests: { method: string; path: string }[];
  sandboxes: Map<string, StandinSandbox>;
  snapshots: Map<string, StandinSnapshot>;
  faults: Fault[];
  docker: Docker;
  /** Sandboxes not destroyed (their containers still exist). */
  liveSandboxes(): SandboxDto[];
  close(): Promise<void>;
}

/** The label on every container the stand-in makes, valued with its run id: what close() removes, and nothing else. */
const STANDIN_LABEL = "tmax-test.daytona-standin";

function demux(stream: Readable, out: Buffer[], err: Buffer[]): Promise<void> {
  let pending = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      (pending[0] === 2 ? err : out).push(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  });
  return new Promise((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}

/** Decodes an `aws-chunked` body (S3 streaming uploads with trailing checksums). */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString("latin1").split(";")[0]!, 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function multipartFiles(files: { name: "file" | "error"; filename: string; data: Buffer }[]): { body: Buffer; boundary: string } {
  const boundary = `standin${randomUUID().replace(/-/g, "")}`;
  const parts = files.map((f) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.filename}"\r\nContent-Type: ${f.name === "error" ? "application/json" : "application/octet-stream"}\r\n\r\n`,
      ),
      f.data,
      Buffer.from("\r\n"),
    ]),
  );
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), boundary };
}

/**
 * Daytona's check of an image name to pull (`imageName`; a `buildInfo` image is not checked): a tag or a digest is
 * required and `:latest` refused. The message, or null when the name is accepted.
 */
function imageNameError(name: string): string | null {
  if (name.includes("@sha256:")) return /@sha256:[a-f0-9]{64}$/.test(name) ? null : "Invalid digest format. Must be image@sha256:64_hex_characters";
  if (!name.includes(":") || name.endsWith(":")) return "Image name must include a tag (e.g., ubuntu:22.04) or digest (@sha256:...)";
  if (name.endsWith(":latest")) return 'Images with tag ":latest" are not allowed';
  return null;
}

/**
 * Starts the stand-in with its own podman service; `apiKey` is the only key it accepts. A deleted snapshot is
 * `removing` for `snapshotRemovalMs` before it goes, as on Daytona (which takes it away later), and its name cannot
 * be created again meanwhile.
 */
export async function startDaytonaStandin(opts: { apiKey?: string; snapshotRemovalMs?: number } = {}): Promise<DaytonaStandin> {
  const apiKey = opts.apiKey ?? `standin-${randomUUID()}`;
  const runId = randomUUID();
  const service = await PodmanService.start();
  const docker = new Docker({ socketPath: service.socketPath });
  const sandboxes = new Map<string, StandinSandbox>();
  const snapshots = new Map<string, StandinSnapshot>();
  const objects = new Map<string, Buffer>();
  const created: CreateSandbox[] = [];
  const snapshotCreates: CreateSnapshot[] = [];
  const requests: { method: string; path: string }[] = [];
  const faults: Fault[] = [];
  const images = new Set<string>();
  let base = "";

  const fail = (c: Context, status: number, message: string): Response => c.json({ statusCode: status, message, error: message }, status as 400);
  const find = (idOrName: string): StandinSandbox | undefined =>
    sandboxes.get(idOrName) ?? [...sandboxes.values()].find((s) => s.dto.name === idOrName && s.dto.state !== "destroyed");
  const live = (c: Context): StandinSandbox | Response => {
    const s = find(c.req.param("id") ?? "");
    return s && s.dto.state !== "destroyed" ? s : fail(c, 404, `sandbox ${c.req.param("id")} not found`);
  };
  const run = async (s: StandinSandbox, command: string, into: Exec): Promise<void> => {
    const exec = await docker.getContainer(s.containerId).exec({ Cmd: ["sh", "-c", command], AttachStdout: true, AttachStderr: true, User: "root" });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    await demux(stream, into.stdout, into.stderr);
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running) {
        into.exitCode = info.ExitCode ?? -1;
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    into.exitCode = -1;
  };

  const app = new Hono();
  // Every request: recorded, checked for the API key, and answered by an injected fault if one matches.
  app.use("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (path.startsWith("/s3/")) return next();
    requests.push({ method: c.req.method, path });
    const fault = faults.find((f) => f.times > 0 && f.method === c.req.method && f.path.test(path));
    if (fault) {
      fault.times--;
      for (const [k, v] of Object.entries(fault.headers ?? {})) c.header(k, v);
      return fail(c, fault.status, fault.message ?? `injected HTTP ${fault.status}`);
    }
    if (c.req.header("authorization") !== `Bearer ${apiKey}`) return fail(c, 401, "Invalid credentials");
    return next();
  });

  // --- object storage (the SDK's S3 client uploads Dockerfile contexts here) ---
  app.get("/api/object-storage/push-access", (c) =>
    c.json({ accessKey: "standin", secret: "standin", sessionToken: "standin", storageUrl: `${base}/s3`, organizationId: "standin-org", bucket: "standin", region: "us-east-1" } satisfies StorageAccessDto),
  );
  app.get("/s3/:bucket", (c) => {
    const prefix = c.req.query("prefix") ?? "";
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix));
    const contents = keys.map((k) => `<Contents><Key>${k}</Key><Size>${objects.get(k)!.length}</Size></Contents>`).join("");
    return c.body(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${c.req.param("bucket")}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      200,
      { "content-type": "application/xml" },
    );
  });
  app.put("/s3/:bucket/*", async (c) => {
    const key = new URL(c.req.url).pathname.slice(`/s3/${c.req.param("bucket")}/`.length);
    let body: Buffer = Buffer.from(await c.req.arrayBuffer());
    if ((c.req.header("content-encoding") ?? "").includes("aws-chunked") || (c.req.header("x-amz-content-sha256") ?? "").startsWith("STREAMING-")) body = decodeAwsChunked(body);
    objects.set(decodeURIComponent(key), body);
    return c.body(null, 200, { etag: `"${randomUUID()}"` });
  });

  // --- snapshots ---
  const build = async (snap: StandinSnapshot, req: CreateSnapshot): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), "daytona-standin-build-"));
    try {
      for (const hash of req.buildInfo?.contextHashes ?? []) {
        const tar = objects.get(`standin-org/${hash}/context.tar`);
        if (!tar) throw new Error(`context ${hash} was never uploaded`);
        await extractTar(Readable.from(tar), dir);
      }
      writeFileSync(join(dir, "Dockerfile"), req.buildInfo?.dockerfileContent ?? `FROM ${req.imageName}\n`);
      const stream = await docker.buildImage(tarDirectory(dir), { t: snap.image, rm: true, forcerm: true });
      const output: { error?: string; errorDetail?: { message?: string } }[] = await new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, res: { error?: string; errorDetail?: { message?: string } }[]) => (err ? reject(err) : resolve(res))),
      );
      const failed = output.find((o) => o.error || o.errorDetail);
      if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
      images.add(snap.image);
      snap.dto.state = "active";
    } catch (err) {
      snap.dto.state = "build_failed";
      snap.dto.errorReason = (err as Error).message;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  app.get("/api/snapshots/:name", (c) => {
    const s = snapshots.get(c.req.param("name")) ?? [...snapshots.values()].find((x) => x.dto.id === c.req.param("name"));
    return s ? c.json(s.dto) : fail(c, 404, `snapshot ${c.req.param("name")} not found`);
  });
  // As Daytona's API: `buildInfo` (an SDK Image: Image.base, Image.fromDockerfile) is built from its Dockerfile text
  // and uploaded context; otherwise `imageName` (a plain string image) is pulled. A name taken (by any snapshot, one
  // being removed too) is HTTP 409.
  app.post("/api/snapshots", async (c) => {
    const req = await c.req.json<CreateSnapshot>();
    snapshotCreates.push(req);
    if (!req.buildInfo) {
      if (!req.imageName) return fail(c, 400, "Must specify an image name");
      const invalid = imageNameError(req.imageName);
      if (invalid) return fail(c, 400, invalid);
    }
    if (snapshots.has(req.name)) return fail(c, 409, `Snapshot with name "${req.name}" already exists for this organization`);
    const now = new Date();
    const snap: StandinSnapshot = {
      image: `localhost/daytona-standin-${runId.slice(0, 8)}:${req.name}`,
      dto: {
        id: randomUUID(),
        general: false,
        name: req.name,
        state: "pending",
        size: null,
        entrypoint: null,
        cpu: req.cpu ?? 1,
        gpu: req.gpu ?? 0,
        mem: req.memory ?? 1,
        disk: req.disk ?? 3,
        errorReason: null,
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
        sourceSandboxId: null,
        ...(req.regionId ? { regionIds: [req.regionId] } : {}),
      },
    };
    snapshots.set(req.name, snap);
    void build(snap, req);
    return c.json(snap.dto);
  });
  app.delete("/api/snapshots/:id", (c) => {
    const s = [...snapshots.values()].find((x) => x.dto.id === c.req.param("id"));
    if (!s) return fail(c, 404, "snapshot not found");
    s.dto.state = "removing";
    setTimeout(() => snapshots.get(s.dto.name) === s && snapshots.delete(s.dto.name), opts.snapshotRemovalMs ?? 1000).unref();
    return c.body(null, 200);
  });

  // --- sandboxes ---
  app.post("/api/sandbox", async (c) => {
    const req = await c.req.json<CreateSandbox>();
    created.push(req);
    const snap = req.snapshot ? snapshots.get(req.snapshot) : undefined;
    if (!snap || snap.dto.state !== "active") return fail(c, 400, `snapshot ${req.snapshot} is not active`);
    if (req.name && find(req.name)) return fail(c, 409, `sandbox with name ${req.name} already exists`);
    const container = await docker.createContainer({
      Image: snap.image,
      Entrypoint: ["sh", "-c"],
      Cmd: ["trap 'exit 0' TERM; while :; do sleep 86400 & wait $!; done"],
      Env: Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: { [STANDIN_LABEL]: runId },
      HostConfig: { NetworkMode: req.networkBlockAll ? "none" : undefined },
    });
    await container.start();
    const id = randomUUID();
    const now = new Date().toISOString();
    const dto: SandboxDto = {
      id,
      organizationId: "standin-org",
      name: req.name ?? id,
      snapshot: req.snapshot,
      user: req.user ?? "root",
      env: req.env ?? {},
      labels: req.labels ?? {},
      public: false,
      networkBlockAll: req.networkBlockAll ?? false,
      ...(req.networkAllowList ? { networkAllowList: req.networkAllowList } : {}),
      ...(req.domainAllowList ? { domainAllowList: req.domainAllowList } : {}),
      target: req.target ?? "us",
      cpu: snap.dto.cpu,
      gpu: snap.dto.gpu,
      memory: snap.dto.mem,
      disk: snap.dto.disk,
      state: "started",
      autoStopInterval: req.autoStopInterval ?? 15,
      autoDeleteInterval: req.autoDeleteInterval ?? -1,
      createdAt: now,
      updatedAt: now,
      toolboxProxyUrl: `${base}/toolbox`,
    };
    sandboxes.set(id, { dto, containerId: container.id, sessions: new Map() });
    return c.json(dto);
  });
  app.get("/api/sandbox", (c) => {
    const wanted = JSON.parse(c.req.query("labels") ?? "{}") as Record<string, string>;
    const items = [...sandboxes.values()]
      .map((s) => s.dto)
      .filter((d) => d.state !== "destroyed" && Object.entries(wanted).every(([k, v]) => d.labels[k] === v));
    return c.json({ items, nextCursor: null });
  });
  app.get("/api/sandbox/:id", (c) => {
    const s = find(c.req.param("id"));
    return s && s.dto.state !== "destroyed" ? c.json(s.dto) : fail(c, 404, `sandbox ${c.req.param("id")} not found`);
  });
  app.get("/api/sandbox/:id/toolbox-proxy-url", (c) => c.json({ url: `${base}/toolbox` }));
  app.post("/api/sandbox/:id/last-activity", (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    s.dto.lastActivityAt = new Date().toISOString();
    return c.body(null, 200);
  });
  app.post("/api/sandbox/:id/stop", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    await docker.getContainer(s.containerId).stop({ t: 1 }).catch(() => undefined);
    s.dto.state = "stopped";
    return c.json(s.dto);
  });
  app.delete("/api/sandbox/:id", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    await docker.getContainer(s.containerId).remove({ force: true, v: true }).catch(() => undefined);
    s.dto.state = "destroyed";
    return c.json(s.dto);
  });

  // --- the toolbox (the daemon in each sandbox, reached through Daytona's proxy) ---
  app.get("/toolbox/:id/work-dir", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const info = await docker.getContainer(s.containerId).inspect();
    return c.json({ dir: info.Config.WorkingDir || "/" });
  });
  app.post("/toolbox/:id/process/session", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const { sessionId } = await c.req.json<{ sessionId: string }>();
    if (s.sessions.has(sessionId)) return fail(c, 409, `session ${sessionId} exists`);
    s.sessions.set(sessionId, new Map());
    return c.body(null, 201);
  });
  app.delete("/toolbox/:id/process/session/:sid", (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    return s.sessions.delete(c.req.param("sid")) ? c.body(null, 204) : fail(c, 404, "session not found");
  });
  app.post("/toolbox/:id/process/session/:sid/exec", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const session = s.sessions.get(c.req.param("sid"));
    if (!session) return fail(c, 404, "session not found");
    const req = await c.req.json<SessionExecuteRequest>();
    const cmdId = randomUUID();
    const exec: Exec = { command: req.command, stdout: [], stderr: [] };
    session.set(cmdId, exec);
    const done = run(s, req.command, exec);
    if (!req.runAsync && !req.async) {
      await done;
      return c.json({ cmdId, exitCode: exec.exitCode, stdout: Buffer.concat(exec.stdout).toString(), stderr: Buffer.concat(exec.stderr).toString() });
    }
    void done.catch(() => (exec.exitCode = -1));
    return c.json({ cmdId });
  });
  const command = (c: Context): Exec | Response => {
    const s = live(c);
    if (s instanceof Response) return s;
    const exec = s.sessions.get(c.req.param("sid") ?? "")?.get(c.req.param("cid") ?? "");
    return exec ?? fail(c, 404, "command not found");
  };
  app.get("/toolbox/:id/process/session/:sid/command/:cid", (c) => {
    const exec = command(c);
    if (exec instanceof Response) return exec;
    return c.json({ id: c.req.param("cid"), command: exec.command, ...(exec.exitCode === undefined ? {} : { exitCode: exec.exitCode }) } satisfies Command);
  });
  app.get("/toolbox/:id/process/session/:sid/command/:cid/logs", (c) => {
    const exec = command(c);
    if (exec instanceof Response) return exec;
    const stdout = Buffer.concat(exec.stdout).toString();
    const stderr = Buffer.concat(exec.stderr).toString();
    return c.json({ output: stdout + stderr, stdout, stderr } satisfies SessionCommandLogsResponse);
  });
  app.post("/toolbox/:id/process/execute", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const req = await c.req.json<{ command: string }>();
    const exec: Exec = { command: req.command, stdout: [], stderr: [] };
    await run(s, req.command, exec);
    return c.json({ exitCode: exec.exitCode, result: Buffer.concat([...exec.stdout, ...exec.stderr]).toString() } satisfies ExecuteResponse);
  });
  app.post("/toolbox/:id/files/bulk-upload", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const form = await c.req.parseBody({ all: true });
    const pack = tarStream.pack();
    const dirs = new Set<string>();
    for (let i = 0; typeof form[`files[${i}].path`] === "string"; i++) {
      const path = form[`files[${i}].path`] as string;
      const file = form[`files[${i}].file`] as File;
      dirs.add(posix.dirname(path));
      pack.entry({ name: path.replace(/^\/+/, ""), mode: 0o644 }, Buffer.from(await file.arrayBuffer()));
    }
    pack.finalize();
    await run(s, `mkdir -p ${[...dirs].map((d) => `'${d}'`).join(" ")}`, { command: "", stdout: [], stderr: [] });
    await docker.getContainer(s.containerId).putArchive(pack as unknown as NodeJS.ReadableStream, { path: "/" });
    return c.body(null, 200);
  });
  app.post("/toolbox/:id/files/bulk-download", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    const { paths } = await c.req.json<{ paths: string[] }>();
    const parts: { name: "file" | "error"; filename: string; data: Buffer }[] = [];
    for (const path of paths) {
      try {
        const archive = (await docker.getContainer(s.containerId).getArchive({ path })) as unknown as Readable;
        const extract = tarStream.extract();
        const chunks: Buffer[] = [];
        await new Promise<void>((resolve, reject) => {
          extract.on("entry", (_h, stream, next) => {
            stream.on("data", (d: unknown) => void chunks.push(d as Buffer));
            stream.on("end", next);
          });
          extract.on("finish", resolve);
          extract.on("error", reject);
          archive.pipe(extract);
        });
        parts.push({ name: "file", filename: path, data: Buffer.concat(chunks) });
      } catch (err) {
        parts.push({ name: "error", filename: path, data: Buffer.from(JSON.stringify({ message: (err as Error).message, statusCode: 404 })) });
      }
    }
    const { body, boundary } = multipartFiles(parts);
    return c.body(new Uint8Array(body), 200, { "content-type": `multipart/form-data; boundary=${boundary}` });
  });
  app.delete("/toolbox/:id/files", async (c) => {
    const s = live(c);
    if (s instanceof Response) return s;
    await run(s, `rm -rf '${c.req.query("path") ?? ""}'`, { command: "", stdout: [], stderr: [] });
    return c.body(null, 204);
  });
  app.all("*", (c) => fail(c, 404, `the Daytona stand-in does not implement ${c.req.method} ${new URL(c.req.url).pathname}`));

  const server: LoopbackServer = await serveOnLoopback(app);
  base = server.url.replace(/\/v1$/, "");
  return {
    apiUrl: `${base}/api`,
    apiKey,
    created,
    snapshotCreates,
    requests,
    sandboxes,
    snapshots,
    faults,
    docker,
    liveSandboxes: () => [...sandboxes.values()].map((s) => s.dto).filter((d) => d.state !== "destroyed"),
    close: async () => {
      await server.close();
      const mine = await docker.listContainers({ all: true, filters: { label: [`${STANDIN_LABEL}=${runId}`] } });
      await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
      for (const image of images) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
      await service.stop();
    },
  };
}
