/**
 * The import graph of src/, checked in `npm test` (npm run lint:deps): no cycles, and data flowing one way.
 *
 * Layers, lowest first. A module may import from its own folder and from layers below it, never from a layer above:
 *   util → harbor (Harbor's vocabulary) → task → environment → model → agent → verifier → trial → stats → job →
 *   store → images → datagen → rl → ui → view (tmax view's server) → cli
 * Two seams are stricter: environments know nothing of tasks (they are described by an EnvironmentSpec), and the
 * model layer knows nothing of tasks, containers or Harbor (it is a client of model servers).
 */
const LAYERS = [
  ["util", "^src/(util/|version\\.ts$)"],
  ["harbor", "^src/harbor/"],
  ["task", "^src/task/"],
  ["environment", "^src/environment/"],
  ["model", "^src/model/"],
  ["agent", "^src/agent/"],
  ["verifier", "^src/verifier/"],
  ["trial", "^src/trial/"],
  ["stats", "^src/stats/"],
  ["job", "^src/job/"],
  ["store", "^src/store/"],
  ["images", "^src/images/"],
  ["datagen", "^src/datagen/"],
  ["rl", "^src/rl/"],
  ["ui", "^src/ui/"],
  ["view", "^src/view/"],
  ["cli", "^src/cli/"],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-imports-upward`,
  comment: `${name} must not import from layers above it (${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(", ")})`,
  severity: "error",
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "cyclic imports", from: {}, to: { circular: true } },
    {
      name: "not-in-a-layer",
      severity: "error",
      comment: "every module of src/ belongs to a layer (add new folders to .dependency-cruiser.cjs)",
      from: { path: "^src/", pathNot: LAYERS.map(([, p]) => p) },
      to: {},
    },
    ...upward,
    {
      name: "environment-without-tasks",
      severity: "error",
      comment: "environments are described by an EnvironmentSpec, not by a Task",
      from: { path: "^src/environment/" },
      to: { path: "^src/task/" },
    },
    {
      name: "model-is-a-client",
      severity: "error",
      comment: "the model layer talks to model servers only: no tasks, containers or Harbor types",
      from: { path: "^src/model/" },
      to: { path: "^src/(harbor|task|environment)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
