import type { EnvironmentKind } from "../../environment/providers.js";
import { sandboxesTable } from "../../ui/sandboxes-table.js";
import { forEachEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** `tmax sandboxes list`: tmax's containers on each engine, with their job, session, owner (alive or dead) and age. */
export async function sandboxesListCommand(opts: { env: EnvironmentKind; engine: string[]; json: boolean }): Promise<ExitCode> {
  const rows: Record<string, unknown>[] = [];
  await forEachEngine(opts.env, opts.engine, async (provider, engine) => {
    const sandboxes = await provider.listSandboxes();
    if (opts.json) rows.push(...sandboxes.map((s) => ({ engine, ...s })));
    else console.log(sandboxesTable(engine, sandboxes, Date.now()));
  });
  if (opts.json) console.log(JSON.stringify(rows, null, 2));
  return EXIT.ok;
}
