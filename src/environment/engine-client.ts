import { Agent } from "node:http";
import Docker from "dockerode";
import { Client as SshClient } from "ssh2";
import type { EngineAddress } from "./engine-url.js";

/**
 * An HTTP agent whose connections are the remote unix socket `socketPath`, reached over SSH (OpenSSH's streamlocal
 * forwarding, as `podman --url ssh://…/path` does). One SSH connection per HTTP connection: the Engine API hijacks
 * connections for exec streams, so they are not shared.
 */
function sshSocketAgent(a: Extract<EngineAddress, { kind: "ssh" }>, socketPath: string): Agent {
  const agent = new Agent();
  agent.createConnection = (_options, callback) => {
    const ssh = new SshClient();
    const fail = (err: Error): void => {
      ssh.end();
      callback?.(err, undefined as never);
    };
    ssh.once("ready", () => {
      ssh.openssh_forwardOutStreamLocal(socketPath, (err, stream) => {
        if (err) return fail(err);
        stream.once("close", () => ssh.end());
        callback?.(null, stream);
      });
    });
    ssh.once("error", fail);
    ssh.connect({ host: a.host, port: a.port, username: a.user ?? process.env.USER, agent: process.env.SSH_AUTH_SOCK });
    return undefined;
  };
  return agent;
}

/** A Docker Engine API client for the address. */
export function dockerClientFor(a: EngineAddress): Docker {
  switch (a.kind) {
    case "unix":
      return new Docker({ socketPath: a.socketPath });
    case "tcp":
      return new Docker({ protocol: "http", host: a.host, port: a.port });
    case "ssh":
      if (a.socketPath) {
        // docker-modem takes an http.Agent (its typings omit it): every request goes through the SSH forward.
        const viaSsh: Docker.DockerOptions & { agent: Agent } = { protocol: "http", host: "localhost", agent: sshSocketAgent(a, a.socketPath) };
        return new Docker(viaSsh);
      }
      // docker-modem's own SSH transport runs `docker system dial-stdio` on the remote host.
      return new Docker({ protocol: "ssh", host: a.host, port: a.port, username: a.user ?? undefined, sshOptions: { agent: process.env.SSH_AUTH_SOCK } });
  }
}

/** Whether containers on this engine can bind-mount this host's directories (a local unix socket only). */
export function bindMountsPossible(a: EngineAddress): boolean {
  return a.kind === "unix";
}
