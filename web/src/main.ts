/**
 * The browser app of `tmax view`. Plain TypeScript modules, no framework: the pages are tables, lists and
 * server-drawn SVG charts with little state, so a component framework would add a dependency, a compiler plugin and
 * a runtime for nothing a 40-line `h()` helper (dom.ts) does not do; there is no virtual DOM to keep in sync, every
 * text goes into the page as a text node (trial output cannot inject markup), and esbuild bundles the modules into
 * one file at `npm run build` (dist/web/app.js), so `tmax view` needs no dev server. See web/README.md.
 */
import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { installKeys, setPageKeys } from "./keys.js";
import { setCrumbs, type PageContext } from "./page.js";
import { comparePage } from "./pages/compare.js";
import { corpusPage } from "./pages/corpus.js";
import { jobPage } from "./pages/job.js";
import { jobsPage } from "./pages/jobs.js";
import { rolloutPage, rolloutsPage } from "./pages/rollouts.js";
import { runPage } from "./pages/run.js";
import { trajectoryPage } from "./pages/trajectory.js";
import { trialPage } from "./pages/trial.js";
import { parseRoute, type Route } from "./routes.js";

let leave: AbortController | null = null;

function show(route: Route, ctx: PageContext): Promise<void> {
  switch (route.page) {
    case "jobs":
      return jobsPage(ctx);
    case "job":
      return jobPage(ctx, route.path);
    case "trial":
      return trialPage(ctx, route.path);
    case "trajectory":
      return trajectoryPage(ctx, route.path, route.step);
    case "run":
      return runPage(ctx, route.path);
    case "corpus":
      return corpusPage(ctx, route.path);
    case "rollouts":
      return rolloutsPage(ctx, route.path);
    case "rollout":
      return rolloutPage(ctx, route.path, route.index ?? 0);
    case "compare":
      return comparePage(ctx, route.paths);
    case "missing":
      throw new ApiError(`no page at ${route.hash}`, 404);
  }
}

async function render(): Promise<void> {
  leave?.abort();
  leave = new AbortController();
  const main = document.getElementById("app")!;
  const nav = document.getElementById("crumbs")!;
  const ctx: PageContext = { main, signal: leave.signal, crumbs: (items) => setCrumbs(nav, items) };
  main.setAttribute("aria-busy", "true");
  try {
    await show(parseRoute(location.hash), ctx);
    window.scrollTo(0, 0);
  } catch (err) {
    setPageKeys({ up: "#/" });
    const status = err instanceof ApiError ? ` (${err.status})` : "";
    main.replaceChildren(h("section", { class: "panel error" }, h("h2", {}, `Cannot show this page${status}`), h("p", {}, (err as Error).message), h("a", { href: "#/" }, "← all jobs")));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

installKeys();
window.addEventListener("hashchange", () => void render());
void render();
