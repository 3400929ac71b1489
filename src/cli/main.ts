#!/usr/bin/env node
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { TMAX_VERSION } from "../version.js";
import { errorMessage } from "../util/errors.js";
import { EXIT, UsageError, type ExitCode } from "./exit-codes.js";
import { withAgentSettings, withBackend, withDaytonaAutoStop, withEngines, withModelServer, withModelServers, withSandboxBackend } from "./options.js";
import { collect, nonNegativeInt, nonNegativeNumber, parseEnvPair, parseKwarg, positiveInt, positiveNumber, splitWords } from "./parse.js";

/**
 * The `tmax` command line. Every handler lives in commands/ and is imported on first use, so `tmax --help` and light
 * commands start fast; option groups shared by several commands are declared once in options.ts. Exit codes follow
 * exit-codes.ts: 0 success, 1 failure, 2 usage error (also for the parser's own errors), 130 interrupted.
 */

/** Runs a command's handler and sets the exit code: a UsageError is a usage error (2), anything else thrown a failure (1). */
function handle<A extends unknown[]>(name: string, run: (...args: A) => Promise<ExitCode>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await run(...args);
    } catch (err) {
      console.error(`tmax ${name}: ${errorMessage(err)}`);
      process.exitCode = err instanceof UsageError ? EXIT.usage : EXIT.failure;
    }
  };
}

const program = new Command()
  .name("tmax")
  .description("Terminal agents end to end: run Harbor-format tasks in containers, score them, generate and train.")
  .version(TMAX_VERSION)
  // Options belong to the command they follow (`tmax train --lr X` vs `tmax train step --lr X`).
  .enablePositionalOptions()
  .showHelpAfterError()
  // Parser errors (unknown options, missing arguments, invalid values) end as usage errors, not as commander's exit 1.
  .exitOverride();

/** The options given on the command line (not defaults): with `-c`, only these override the config file. */
function givenOptions(cmd: { options: readonly { attributeName(): string }[]; getOptionValueSource(key: string): string | undefined }): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli"));
}

const runCmd = withDaytonaAutoStop(withEngines(withSandboxBackend(
  withAgentSettings(
    withModelServers(
      program
        .command("run")
        .description("run an agent on tasks (a task or dataset dir, a registry dataset, a git task, a Harbor job config); every task × attempt × agent in its own container")
        .option("-p, --path <dir>", "task directory, or a dataset directory whose children are tasks (with --task-git-url: the task's path in the repository)")
        .option("-d, --dataset <name@version>", "a dataset of the registry, e.g. terminal-bench@2.0 (no @version: the latest)")
        .option("-t, --task <name>", "one task of the registry, by name (with -d: of that dataset)")
        .option("--registry-path <path>", "a local registry.json (or the directory holding one) for -d / -t")
        .option("--registry-url <url>", "the registry's URL for -d / -t (default: Harbor's registry.json)")
        .option("--task-git-url <url>", "with -p PATH: the task is PATH in this git repository")
        .option("--task-git-commit <commit>", "with --task-git-url: the commit (default: the default branch)")
        .option("-c, --config <file>", "a Harbor job config (YAML or JSON) to run; repeat to merge several; flags given override it", collect, [])
        .option("--resume <job-dir>", "continue an interrupted job (tmax's or Harbor's): finished trials are kept, the rest re-run")
        .option("-f, --filter-error-type <type>", "with --resume: also re-run finished trials that failed with this exception type (repeatable)", collect, [])
        .option("-a, --agent <name>", "agent: oracle, nop, tmax, or a module:export import path", "oracle")
        .option("--agent-import-path <module:export>", "your own agent: a JS/TS module exporting an agent factory (see the README)"),
    ),
  ),
  "sandbox backend: podman, docker, or daytona (Daytona's cloud sandboxes; see --daytona-*)",
)))
  .option("--engine-max-starts <n>", "with --engine: containers started at once per engine (default 64)", positiveInt)
  .option("--engine-max-execs <n>", "with --engine: execs in flight at once per engine (default 256)", positiveInt)
  .option("-k, --n-attempts <n>", "attempts per task", positiveInt, 1)
  .option("-n, --n-concurrent <n>", "trials run at once", positiveInt, 4)
  .option("-i, --include-task-name <glob>", "only tasks whose name matches (repeatable)", collect, [])
  .option("-x, --exclude-task-name <glob>", "skip tasks whose name matches (repeatable)", collect, [])
  .option("-l, --n-tasks <n>", "at most this many tasks (after filtering)", nonNegativeInt)
  .option("-o, --jobs-dir <dir>", "where job directories are created", "jobs")
  .option("--job-name <name>", "job directory name (default: the start time, YYYY-MM-DD__HH-MM-SS)")
  .option("--timeout-multiplier <x>", "multiply every task timeout", positiveNumber, 1)
  .option("--agent-timeout-multiplier <x>", "multiply the agent timeout", positiveNumber)
  .option("--verifier-timeout-multiplier <x>", "multiply the verifier timeout", positiveNumber)
  .option("--agent-setup-timeout-multiplier <x>", "multiply the agent setup timeout", positiveNumber)
  .option("--environment-build-timeout-multiplier <x>", "multiply the environment build timeout", positiveNumber)
  .option("--agent-timeout <sec>", "override every task's agent timeout", positiveNumber)
  .option("--max-agent-timeout <sec>", "cap every task's agent timeout", positiveNumber)
  .option("--verifier-timeout <sec>", "override every task's verifier timeout", positiveNumber)
  .option("-r, --max-retries <n>", "re-run trials that failed for infrastructure reasons up to n times", nonNegativeInt, 0)
  .option("--retry-include <type>", "only retry these exception types (repeatable)", collect)
  .option("--retry-exclude <type>", "never retry these exception types (repeatable; default: Harbor's list)", collect)
  .option("--force-build", "rebuild environment images even when cached", false)
  .option("--no-force-build", "use cached environment images (the default)")
  .option("--delete", "remove containers after trials (the default)")
  .option("--no-delete", "keep containers after trials (stopped)")
  .option("--override-cpus <n>", "CPU limit for every container", positiveNumber)
  .option("--override-memory-mb <mb>", "memory limit for every container", positiveInt)
  .option("--override-storage-mb <mb>", "writable-layer size of every container, where the engine's storage driver supports it (else a warning)", positiveInt)
  .option("--override-gpus <n>", "GPUs for every container (Docker with the NVIDIA Container Toolkit); 0 runs GPU tasks without", nonNegativeInt)
  .option("--mounts, --mounts-json <json>", 'extra mounts, a JSON array in Docker Compose\'s volume syntax: [{"type":"bind","source":"/data","target":"/data","read_only":true}]')
  .option("--ek, --environment-kwarg <key=value>", "environment setting (repeatable): keep_containers, engines … (-e daytona: daytona_api_url, daytona_target, auto_stop_interval_mins)", parseKwarg, {})
  .option("--env-file <file>", "a .env file loaded into tmax's environment first (for ${VAR} templates and secrets)")
  .option("-y, --yes", "do not ask before tasks read variables from this environment", false)
  .option("--ve, --verifier-env <KEY=VALUE>", "environment variable for the verifier (repeatable)", parseEnvPair, {})
  .option("--disable-verification", "skip the verifier", false)
  .option("--enable-verification", "run the verifier (the default)")
  .addOption(
    new Option("--agent-processes <policy>", "before the tests, end all processes the agent left, or all but servers (listening sockets)")
      .choices(["all", "servers"] as const)
      .default("servers" as const),
  )
  .option("--max-log-mb <mb>", "cap on what each of a trial's log dirs (agent/, verifier/, artifacts/) may hold; the rest is cut with a marker (default 1024)", positiveNumber)
  .option("--artifact <path>", "container path to copy into the trial's artifacts/ (repeatable)", collect, [])
  .option("--json", "print the summary as JSON on stdout", false)
  .option("-q, --quiet", "no live progress", false)
  .option("--debug", "verbose logging", false);
// Harbor's --disable-verification/--enable-verification: the last one given wins.
runCmd.on("option:enable-verification", () => runCmd.setOptionValueWithSource("disableVerification", false, "cli"));
runCmd.action(
  handle("run", async (opts, cmd) => {
    const { runCommand } = await import("./commands/run.js");
    return runCommand(opts, process.argv.slice(2), givenOptions(cmd));
  }),
);

withEngines(withBackend(
  withAgentSettings(
    withModelServer(
      program
        .command("agent")
        .description("run the tmax agent once on an instruction in a fresh container, streaming each step")
        .argument("[instruction]", "what to do (with -p: defaults to the task's instruction.md)")
        .option("--image <image>", "container image to work in", "debian:bookworm-slim")
        .option("-p, --path <task-dir>", "work in a task's environment instead, and run its verifier afterwards"),
    ),
  ),
))
  .option("--workdir <dir>", "working directory in the container (with --image)")
  .option("--no-internet", "no network in the container (with --image)")
  .option("--agent-timeout <sec>", "stop the agent after this many seconds", positiveNumber)
  .option("-o, --jobs-dir <dir>", "where the run's job directory is written", "jobs")
  .option("--job-name <name>", "job directory name (default: agent__<start time>)")
  .option("--no-delete", "keep the container afterwards (stopped)")
  .option("--json", "print events as JSON lines", false)
  .action(
    handle("agent", async (instruction, opts) => {
      const { agentCommand } = await import("./commands/agent.js");
      return agentCommand(instruction, opts);
    }),
  );

program
  .command("stats")
  .description("mean, mean ± SEM over runs, pass@k and errors of Harbor job directories (tmax's or Harbor's)")
  .argument("<job-dirs...>", "job directories")
  .option("--per-task", "also show per-task figures", false)
  .option("--json", "print a JSON array, one object per job", false)
  .action(
    handle("stats", async (dirs, opts) => {
      const { statsCommand } = await import("./commands/stats.js");
      return statsCommand(dirs, opts);
    }),
  );

program
  .command("view")
  .description("browse jobs, trials, trajectories and training runs in a local web app (read-only)")
  .argument("[dirs...]", "directories to look in, recursively (default: the current directory)")
  .option("--port <n>", "port to listen on (0: any free one)", nonNegativeInt, 8777)
  .option("--host <addr>", "address to bind", "127.0.0.1")
  .option("--open", "open the viewer in the default browser", false)
  .action(
    handle("view", async (dirs, opts) => {
      const { viewCommand } = await import("./commands/view.js");
      return viewCommand(dirs, opts);
    }),
  );

program
  .command("tasks")
  .description("work with task directories")
  .command("check")
  .description("validate task directories as Harbor does, say whether each runs here, and list every problem with its file and field")
  .argument("<dirs...>", "task or dataset directories")
  .option("--json", "print a JSON array: per task its path, valid, runnable, network and problems (file, field, message, severity)", false)
  .action(
    handle("tasks check", async (dirs, opts) => {
      const { tasksCheckCommand } = await import("./commands/tasks-check.js");
      return tasksCheckCommand(dirs, opts);
    }),
  );

const gen = program.command("gen").description("generate verified task corpora (sample → build → solve → decontam → analyze → export)");
gen
  .command("sample")
  .description("draw task specs from the nine axes of the taxonomy (same seed, same specs)")
  .option("-n, --n <count>", "number of specs", positiveInt, 100)
  .option("--corpus <kind>", "corpus kind: legacy, sft (sft_v2) or rl (rl_v2)", "legacy")
  .option("--seed <n>", "random seed", nonNegativeInt, 0)
  .option("--start <index>", "index of the first spec (to extend a run)", nonNegativeInt, 0)
  .option("-o, --output <file>", "specs file (JSONL)", "specs.jsonl")
  .option("--taxonomy <file>", "taxonomy file (default: data/taxonomy.json)")
  .option("-q, --quiet", "no summary", false)
  .action(
    handle("gen sample", async (opts) => {
      const { genSampleCommand } = await import("./commands/gen-sample.js");
      return genSampleCommand(opts);
    }),
  );

withEngines(withBackend(
  withModelServer(
    gen
      .command("build")
      .description("write each spec's task with an LLM, validate it in containers, keep the ones that prove out")
      .argument("<specs>", "specs file from `tmax gen sample`")
      .option("-o, --output <dir>", "corpus directory", "corpus"),
    "generator model",
  ),
  "container backend for validation",
))
  .option("-n, --concurrency <n>", "specs in flight", positiveInt, 4)
  .option("--budget-usd <usd>", "stop once the corpus has cost this much", positiveNumber)
  .option("--max-repairs <n>", "validation repair rounds per task", nonNegativeInt, 3)
  .option("--max-parse-retries <n>", "re-asks after an unparsable reply", nonNegativeInt, 2)
  .option("--max-tokens <n>", "max tokens per generator reply", positiveInt, 32768)
  .option("--input-cost-per-mtok <usd>", "price of a million prompt tokens (for cost tracking)", nonNegativeNumber)
  .option("--output-cost-per-mtok <usd>", "price of a million completion tokens", nonNegativeNumber)
  .option("--request-timeout <sec>", "seconds before a generator request is retried", positiveNumber, 3600)
  .option("--taxonomy <file>", "taxonomy file (default: data/taxonomy.json)")
  .option("-q, --quiet", "no live progress", false)
  .action(
    handle("gen build", async (specs, opts) => {
      const { genBuildCommand } = await import("./commands/gen-build.js");
      return genBuildCommand(specs, opts);
    }),
  );

withEngines(withBackend(
  withAgentSettings(
    withModelServer(
      gen
        .command("solve")
        .description("pass@k per task through the runner, then difficulty tiers written into each task's metadata")
        .argument("<corpus>", "corpus directory")
        .option("-a, --agent <name>", "agent", "tmax"),
      "model for the agent",
    ),
  ),
))
  .option("-k, --n-attempts <n>", "attempts per task", positiveInt, 8)
  .option("-n, --n-concurrent <n>", "trials at once", positiveInt, 4)
  .option("-o, --jobs-dir <dir>", "where the solve job goes (default: <corpus>/.solve)")
  .option("--job-name <name>", "job name (default: solve__<start time>)")
  .option("--from-job <dir>", "use a finished job's results instead of running one")
  .option("--second-job <dir>", "a second reference model's job, for two-model tiers")
  .option("-q, --quiet", "no live progress", false)
  .action(
    handle("gen solve", async (corpus, opts) => {
      const { genSolveCommand } = await import("./commands/gen-solve.js");
      return genSolveCommand(corpus, opts);
    }),
  );

gen
  .command("analyze")
  .description("axis balance, acceptance and pass rates by axis, cost per task; writes an HTML report")
  .argument("<corpus>", "corpus directory")
  .option("-o, --output <file>", "HTML report path (default: <corpus>/report.html)")
  .option("--json", "print the analysis as JSON", false)
  .action(
    handle("gen analyze", async (corpus, opts) => {
      const { genAnalyzeCommand } = await import("./commands/gen-analyze.js");
      return genAnalyzeCommand(corpus, opts);
    }),
  );

gen
  .command("decontam")
  .description("word n-gram overlap of task descriptions with benchmark instructions (13-grams and 8-grams)")
  .argument("<corpus>", "corpus directory")
  .option("--against <dir>", "benchmark tasks directory, e.g. a Terminal-Bench checkout (repeatable)", collect, [])
  .option("--n <n>", "n-gram size to report (repeatable; default 13 and 8)", (v: string, prev: number[] | undefined) => [...(prev ?? []), positiveInt(v)])
  .option("--remove", "move contaminated tasks out of the corpus (to <corpus>/.removed)", false)
  .option("--remove-n <n>", "n-gram size that decides removal", positiveInt, 13)
  .option("-o, --output <dir>", "report directory (default: <corpus>/decontam)")
  .option("--json", "print the report as JSON", false)
  .action(
    handle("gen decontam", async (corpus, opts) => {
      const { genDecontamCommand } = await import("./commands/gen-decontam.js");
      return genDecontamCommand(corpus, { ...opts, n: opts.n ?? [13, 8] });
    }),
  );

gen
  .command("export")
  .description("publish a corpus: a Harbor dataset directory, or a Hugging Face datasets layout (JSONL or Parquet)")
  .argument("<corpus>", "corpus directory")
  .addOption(new Option("--format <format>", "output format").choices(["harbor", "jsonl", "parquet"] as const).default("harbor" as const))
  .option("-o, --output <dir>", "output directory", "export")
  .option("--include-truth", "also export each task's hidden ground truth (generation/)", false)
  .action(
    handle("gen export", async (corpus, opts) => {
      const { genExportCommand } = await import("./commands/gen-export.js");
      return genExportCommand(corpus, opts);
    }),
  );

withBackend(
  program
    .command("images")
    .description("container images for offline machines")
    .command("bootstrap")
    .description("build a Debian base image with debootstrap and tag it as debian:bookworm-slim etc. (idempotent)")
    .option("--suite <name>", "Debian suite", "bookworm")
    .option("--mirror <url>", "Debian mirror (default: the Debian archive in this machine's apt sources, else http://deb.debian.org/debian)")
    .option("--force", "rebuild even if the image exists", false),
).action(
  handle("images bootstrap", async (opts) => {
    const { imagesBootstrapCommand } = await import("./commands/images-bootstrap.js");
    return imagesBootstrapCommand(opts);
  }),
);

withEngines(withBackend(
  program
    .command("rollout")
    .description("token-in/token-out RL rollouts of one task against an inference server, written as the learner reads them")
    .requiredOption("-p, --path <task-dir>", "the task")
    .requiredOption("--model-dir <dir>", "Hugging Face model dir with the tokenizer and chat template the server's model uses")
    .requiredOption("--base-url <url>", "the inference server (vLLM's OpenAI-compatible /v1)")
    .option("-m, --model <name>", "served model name", "default")
    .option("--api-key <key>", "API key for the server (default: OPENAI_API_KEY)")
    .option("-n, --samples <g>", "rollouts (the group size G)", positiveInt, 4)
    .option("-c, --concurrency <n>", "rollouts at once", positiveInt, 4)
    .option("-o, --out <dir>", "where rollouts.json, rollouts.bin and logs/ are written", "rollouts")
    .option("--group <id>", "group id (keys the server's prefix cache with the policy version)")
    .option("--policy-version <n>", "weights version the server runs", nonNegativeInt, 0)
    .option("--temperature <t>", "sampling temperature", nonNegativeNumber, 1)
    .option("--top-p <p>", "nucleus sampling", positiveNumber, 1)
    .option("--seed <n>", "sample j is seeded n + j", nonNegativeInt, 42)
    .option("--max-turn-tokens <n>", "tokens one model turn may sample", positiveInt, 16_384)
    .option("--max-response-tokens <n>", "tokens of the whole response, sampled and appended", positiveInt, 65_536)
    .option("--show", "print each rollout with the trained (mask 1) spans marked", false)
    .option("--json", "print a JSON summary", false),
)).action(
  handle("rollout", async (opts) => {
    const { rolloutCommand } = await import("./commands/rollout.js");
    return rolloutCommand(opts);
  }),
);

program
  .command("export")
  .description("training data from finished work")
  .command("sft")
  .description("successful trajectories of job or rollout directories as SFT data, one JSON line each (chat messages, or token ids with a loss mask)")
  .argument("<dirs...>", "job directories (tmax's or Harbor's) or rollout directories (rollouts.json + rollouts.bin)")
  .requiredOption("-o, --out <file>", "the JSONL file to write")
  .option("--min-reward <r>", "export trajectories whose primary reward is at least this", nonNegativeNumber, 1)
  .addOption(
    new Option("--format <format>", "messages: chat format with tools (trials only); tokens: input_ids and loss_mask")
      .choices(["messages", "tokens"] as const)
      .default("messages" as const),
  )
  .option("--model-dir <dir>", "Hugging Face model dir whose chat template renders trials in --format tokens")
  .option("--json", "also print the summary as JSON on stdout", false)
  .action(
    handle("export sft", async (dirs, opts) => {
      const { exportSftCommand } = await import("./commands/export-sft.js");
      return exportSftCommand(dirs, opts);
    }),
  );

const train = program
  .command("train")
  .description("asynchronous DPPO on terminal tasks: `tmax train --config train.yaml` (every key also a flag) or `tmax train --resume OUT`; subcommands run single learner steps, SFT and loss checks")
  .option("-c, --config <file>", "a YAML (or JSON) config; keys as the flags below, snake_case")
  .option("--resume <out>", "continue the run in OUT from its last resume state")
  .option("--json", "print the run's summary as JSON", false)
  // The run's flags (--model-dir, --lr, …) belong to `tmax train` only when given before a subcommand, so that
  // `tmax train step --model-dir D` keeps its own.
  .enablePositionalOptions();
// The run's flags are read off the train config's zod schema; zod alone takes ~100 ms to load, so they are declared
// only when the command line names `train` (every other command, `tmax stats` above all, starts without it).
if (process.argv.slice(2).includes("train")) {
  const { trainConfigOptions } = await import("./train-flags.js");
  for (const option of trainConfigOptions()) train.addOption(option);
}
train.action(
  handle("train", async (opts: Record<string, unknown>) => {
    const [{ trainCommand }, { trainOverrides }] = await Promise.all([import("./commands/train.js"), import("./train-flags.js")]);
    let overrides: Record<string, unknown>;
    try {
      overrides = trainOverrides(opts);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (opts.config === undefined && opts.resume === undefined && Object.keys(overrides).length === 0) throw new UsageError("give --config FILE (or the settings as flags), or --resume OUT; see tmax train --help");
    return trainCommand({ config: opts.config as string | undefined, resume: opts.resume as string | undefined, json: opts.json === true, overrides });
  }),
);
train
  .command("loss-check")
  .description("run the learner's loss code (DPPO, PPO-clip) on cases from a JSON file; print loss, kept fraction and gradients as JSON")
  .argument("<file>", 'cases file: {"loss"?, "cases": [{vllm_logprobs, learner_logprobs, advantages, response_mask, delta?, loss?}]}')
  .action(
    handle("train loss-check", async (file) => {
      const { trainLossCheckCommand } = await import("./commands/train-loss-check.js");
      return trainLossCheckCommand(file);
    }),
  );

train
  .command("step")
  .description("one RL step: pack a rollout directory into a batch, train the model on it with the learner, save the weights; print the step report as JSON")
  .requiredOption("--model-dir <dir>", "the Hugging Face model dir to start from")
  .requiredOption("--rollouts <dir>", "a rollout directory (rollouts.json + rollouts.bin)")
  .requiredOption("--out <dir>", "where the batch file (batches/step-1.safetensors) and the new weights (step_1/) go")
  .option("--lr <x>", "learning rate (default: the learner's)", positiveNumber)
  .option("--pad-token-id <id>", "token id for row padding (default: the model's pad or EOS token)", nonNegativeInt)
  .option("--learner-processes <n>", "data-parallel learner ranks on this machine (torchrun)", positiveInt, 1)
  .option("--torchrun-args <args>", "torchrun's own arguments instead of --standalone, e.g. \"--nnodes 2 --node-rank 0 --rdzv-endpoint host:29400\"", splitWords)
  .action(
    handle("train step", async (opts) => {
      const { trainStepCommand } = await import("./commands/train-step.js");
      return trainStepCommand(opts);
    }),
  );

train
  .command("sft")
  .description("supervised fine-tuning on SFT JSONL (from `tmax export sft`, either format) with the learner's SFT loss; writes the weights as a Hugging Face model dir")
  .argument("<data...>", "JSONL files: lines of {input_ids, loss_mask} or {messages, tools?}")
  .requiredOption("--model-dir <dir>", "the Hugging Face model dir to start from (its chat template renders messages lines)")
  .requiredOption("--out <dir>", "where the weights (step_N/) and metrics.jsonl go")
  .option("--epochs <n>", "passes over the data", positiveInt, 1)
  .option("--batch-size <n>", "examples per optimizer step", positiveInt, 8)
  .option("--pack-length <n>", "most tokens per packed row; longer examples are cut", positiveInt, 8192)
  .option("--lr <x>", "learning rate", positiveNumber, 1e-5)
  .option("--seed <n>", "seed of each epoch's example order", nonNegativeInt, 0)
  .option("--save-every <n>", "also save the weights every N steps (the final weights are always saved)", positiveInt)
  .option("--pad-token-id <id>", "token id for row padding (default: the model's pad or EOS token)", nonNegativeInt)
  .option("--learner-processes <n>", "data-parallel learner ranks on this machine (torchrun)", positiveInt, 1)
  .option("--torchrun-args <args>", "torchrun's own arguments instead of --standalone", splitWords)
  .option("--json", "print the run's summary as JSON", false)
  .action(
    handle("train sft", async (data, opts) => {
      const { trainSftCommand } = await import("./commands/train-sft.js");
      return trainSftCommand(data, opts);
    }),
  );

program
  .command("serve")
  .description("tmax's reference inference server: a Hugging Face model dir on vLLM's /v1/completions (token ids, processed logprobs) with vLLM's RL control endpoints, on CPU")
  .requiredOption("--model-dir <dir>", "the Hugging Face model dir to serve (a learner checkpoint OUT/step_N/ works)")
  .option("--port <port>", "port (0 picks a free one)", nonNegativeInt, 8000)
  .option("--host <host>", "address to bind (the control endpoints have no authentication: keep it private)", "127.0.0.1")
  .option("--served-model-name <names...>", "model names requests may use", ["default"])
  .option("--seed <n>", "seed for requests that carry none", nonNegativeInt, 0)
  .option("--max-model-len <n>", "context length (default: the model's max_position_embeddings)", positiveInt)
  .option("--threads <n>", "torch CPU threads", positiveInt, 1)
  .option("--batch-decode", "one LM-head product per step over all running requests: faster, seeded samples reproducible only up to float noise", false)
  .option("--log-requests", "log each HTTP request", false)
  .action(
    handle("serve", async (opts) => {
      const { serveCommand } = await import("./commands/serve.js");
      return serveCommand(opts);
    }),
  );

const sandboxes = program.command("sandboxes").description("the containers tmax runs trials in (per engine: `-e`, `--engine`)");

withEngines(
  withSandboxBackend(
    sandboxes
      .command("list")
      .description("tmax's containers on each engine: job, session, owning tmax process (alive or dead), age")
      .option("--json", "print them as JSON", false),
  ),
).action(
  handle("sandboxes list", async (opts) => {
    const { sandboxesListCommand } = await import("./commands/sandboxes-list.js");
    return sandboxesListCommand(opts);
  }),
);

withEngines(
  withSandboxBackend(
    sandboxes
      .command("prune")
      .description("remove containers (and podman services) left by tmax processes that died; never those of running ones")
      .option("--job <id>", "only the containers of this job (its result.json id)")
      .option("--json", "print what was removed as JSON", false),
  ),
).action(
  handle("sandboxes prune", async (opts) => {
    const { sandboxesPruneCommand } = await import("./commands/sandboxes-prune.js");
    return sandboxesPruneCommand(opts);
  }),
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message (or the help / version, which end with code 0).
  process.exitCode = err instanceof CommanderError ? (err.exitCode === 0 ? EXIT.ok : EXIT.usage) : EXIT.failure;
  if (!(err instanceof CommanderError)) console.error(`tmax: ${errorMessage(err)}`);
}
