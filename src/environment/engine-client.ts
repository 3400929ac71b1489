import { Agent } from "node:http";
import Docker from "dockerode";
import { Client as SshClient } from "ssh2";
import type { EngineAddress } from "./engine-url.js";

/** A Docker Engine API client, and how to let go of the connections it holds open (SSH ones keep a process alive). */
export interface EngineClient {
  docker: Docker;
  close(): void;
}

/**
 * An HTTP agent whose connections are the remote unix socket `socketPath`, reached over SSH (OpenSSH's streamlocal
 * forwarding, as `podman --url ssh://…/path` does). One SSH connection per HTTP connection (the Engine API hijacks
 * connections for exec streams, so they are not shared), ended when the remote side ends the stream; destroy()
 * ends those still open.
 */
function sshSocketAgent(a: Extract<EngineAddress, { kind: "ssh" }>, socketPath: string): Agent {
  const agent = new Agent();
  const open = new Set<SshClient>();
  agent.createConnection = (_options, callback) => {
    const ssh = new SshClient();
    open.add(ssh);
    const end = (): void => {
      open.delete(ssh);
      ssh.end();
    };
    ssh.once("ready", () => {
      ssh.openssh_forwardOutStreamLocal(socketPath, (err, stream) => {
        if (err) {
          end();
          callback?.(err, undefined as never);
          return;
        }
        stream.once("end", end);
        stream.once("close", end);
        callback?.(null, stream);
      });
    });
    ssh.once("error", (err) => {
      end();
      callback?.(err, undefined as never);
    });
    ssh.once("close", () => open.delete(ssh));
    ssh.connect({ host: a.host, port: a.port, username: a.user ?? process.env.USER, agent: process.env.SSH_AUTH_SOCK });
    return undefined;
  };
  const destroy = agent.destroy.bind(agent);
  agent.destroy = () => {
    for (const ssh of open) ssh.end();
    open.clear();
    destroy();
  };
  return agent;
}

/** A Docker Engine API client for the address. */
export function engineClientFor(a: EngineAddress): EngineClient {
  switch (a.kind) {
    case "unix":
      return { docker: new Docker({ socketPath: a.socketPath }), close: () => undefined };
    case "tcp":
      return { docker: new Docker({ protocol: "http", host: a.host, port: a.port }), close: () => undefined };
    case "ssh":
      if (a.socketPath) {
        const agent = sshSocketAgent(a, a.socketPath);
        // docker-modem takes an http.Agent (its typings omit it): every request goes through the SSH forward.
        const viaSsh: Docker.DockerOptions & { agent: Agent } = { protocol: "http", host: "localhost", agent };
        return { docker: new Docker(viaSsh), close: () => agent.destroy() };
      }
      // docker-modem's own SSH transport runs `docker system dial-stdio` on the remote host (one SSH connection per
      // request, closed with it).
      return {
        docker: new Docker({ protocol: "ssh", host: a.host, port: a.port, username: a.user ?? undefined, sshOptions: { agent: process.env.SSH_AUTH_SOCK } }),
        close: () => undefined,
      };
  }
}

/** Whether containers on this engine can bind-mount this host's directories (a local unix socket only). */
export function bindMountsPossible(a: EngineAddress): boolean {
  return a.kind === "unix";
}
