/**
 * Where a container engine's API answers, in the URL forms of CONTAINER_HOST / DOCKER_HOST: `unix:///path/to.sock`
 * (or a bare absolute path), `tcp://host:port`, `ssh://user@host[:port][/path/to.sock]`.
 */
export type EngineAddress =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "ssh"; user: string | null; host: string; port: number; socketPath: string | null };

export class EngineUrlError extends Error {
  override name = "EngineUrlError";
}

const DEFAULT_TCP_PORT = 2375;
const DEFAULT_SSH_PORT = 22;

function portOf(url: URL, fallback: number, text: string): number {
  if (url.port === "") return fallback;
  const port = Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EngineUrlError(`${text}: port ${url.port} is not a TCP port`);
  return port;
}

export function parseEngineUrl(text: string): EngineAddress {
  if (text.startsWith("/")) return { kind: "unix", socketPath: text };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EngineUrlError(`${text}: not an engine URL (unix:///path, tcp://host:port or ssh://user@host[:port][/path])`);
  }
  switch (url.protocol) {
    case "unix:": {
      const socketPath = decodeURIComponent(url.pathname);
      if (url.host !== "" || !socketPath.startsWith("/")) throw new EngineUrlError(`${text}: a unix URL names an absolute path: unix:///path/to.sock`);
      return { kind: "unix", socketPath };
    }
    case "tcp:":
    case "http:":
      if (!url.hostname) throw new EngineUrlError(`${text}: no host`);
      return { kind: "tcp", host: url.hostname, port: portOf(url, DEFAULT_TCP_PORT, text) };
    case "ssh:": {
      if (!url.hostname) throw new EngineUrlError(`${text}: no host`);
      const path = decodeURIComponent(url.pathname);
      return {
        kind: "ssh",
        user: url.username ? decodeURIComponent(url.username) : null,
        host: url.hostname,
        port: portOf(url, DEFAULT_SSH_PORT, text),
        socketPath: path && path !== "/" ? path : null,
      };
    }
    default:
      throw new EngineUrlError(`${text}: unsupported scheme ${url.protocol} (unix, tcp or ssh)`);
  }
}

/** The address as a URL again (for labels, logs and the commands tmax suggests). */
export function formatEngineAddress(a: EngineAddress): string {
  switch (a.kind) {
    case "unix":
      return `unix://${a.socketPath}`;
    case "tcp":
      return `tcp://${a.host}:${a.port}`;
    case "ssh":
      return `ssh://${a.user ? `${a.user}@` : ""}${a.host}:${a.port}${a.socketPath ?? ""}`;
  }
}
