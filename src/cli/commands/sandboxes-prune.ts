import pc from "picocolors";
import { openProvider, type EnvironmentKind } from "../../environment/providers.js";
import { describeSweep } from "../../environment/sweep.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/**
 * `tmax sandboxes prune`: removes what tmax processes left behind when they were killed (SIGKILL, OOM, a closed
 * terminal) — their containers and the podman services they started — plus containers labelled by tmax that no
 * running tmax process owns. Containers of running tmax processes and anything not made by tmax are never touched.
 * Every tmax run already sweeps up after dead runs when it starts; this does it on demand.
 */
export async function sandboxesPruneCommand(opts: { env: EnvironmentKind; json: boolean }): Promise<ExitCode> {
  const provider = await openProvider(opts.env, { sweep: false });
  try {
    const report = await provider.sweepAbandoned({ unrecorded: true });
    const containers = report.sessions.reduce((n, s) => n + s.containers, 0) + report.unrecorded;
    const services = report.sessions.filter((s) => s.serviceStopped).length + report.unrecordedServices;
    if (opts.json) console.log(JSON.stringify({ containers_removed: containers, services_stopped: services, ...report }, null, 2));
    else {
      for (const line of describeSweep(report)) console.log(line);
      console.log(containers + services === 0 ? pc.green("nothing to prune") : `${pc.green("✓")} removed ${containers} container(s), stopped ${services} service(s)`);
    }
    return EXIT.ok;
  } finally {
    await provider.close();
  }
}
