#!/usr/bin/env node
import { Command, Option } from "commander";
import { collect, nonNegativeInt, parseEnvPair, parseKwarg, positiveInt, positiveNumber } from "./parse.js";
import { TMAX_VERSION } from "../version.js";

// Subcommands are imported lazily so that `tmax --help` and light commands start fast.
const program = new Command()
  .name("tmax")
  .description("Terminal agents end to end: run Harbor-format tasks in containers, score them, generate and train.")
  .version(TMAX_VERSION)
  .showHelpAfterError();

program
  .command("run")
  .description("run an agent on a task or dataset directory (every task × attempt in its own container)")
  .option("-p, --path <dir>", "task directory, or a dataset directory whose children are tasks")
  .option("--resume <job-dir>", "continue an interrupted job: finished trials are kept, the rest re-run")
  .option("-a, --agent <name>", "agent: oracle, nop, or a registered agent", "oracle")
  .option("-m, --model <name>", "model for the agent: the server's model name (an openai/ prefix is accepted)")
  .option("--base-url <url>", "OpenAI-compatible server for the tmax agent (default: $OPENAI_BASE_URL)")
  .option("--api-key <key>", "API key for that server (default: $OPENAI_API_KEY; never written to job files)")
  .option("--ak, --agent-kwarg <key=value>", "agent setting, e.g. --ak temperature=0.7 --ak max_steps=64 (repeatable)", parseKwarg, {})
  .option("--ae, --agent-env <KEY=VALUE>", "environment variable for the agent (repeatable)", parseEnvPair, {})
  .option("-k, --n-attempts <n>", "attempts per task", positiveInt, 1)
  .option("-n, --n-concurrent <n>", "trials run at once", positiveInt, 4)
  .option("-i, --include-task-name <glob>", "only tasks whose name matches (repeatable)", collect, [])
  .option("-x, --exclude-task-name <glob>", "skip tasks whose name matches (repeatable)", collect, [])
  .option("-l, --n-tasks <n>", "at most this many tasks (after filtering)", nonNegativeInt)
  .option("-o, --jobs-dir <dir>", "where job directories are created", "jobs")
  .option("--job-name <name>", "job directory name (default: the start time, YYYY-MM-DD__HH-MM-SS)")
  .addOption(new Option("-e, --env <type>", "container backend").choices(["podman", "docker"]).default("podman"))
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
  .option("--no-delete", "keep containers after trials (stopped)")
  .option("--override-cpus <n>", "CPU limit for every container", positiveNumber)
  .option("--override-memory-mb <mb>", "memory limit for every container", positiveInt)
  .option("--override-storage-mb <mb>", "storage limit for every container (recorded; not enforced on overlay)", positiveInt)
  .option("--ve, --verifier-env <KEY=VALUE>", "environment variable for the verifier (repeatable)", parseEnvPair, {})
  .option("--disable-verification", "skip the verifier", false)
  .option("--artifact <path>", "container path to copy into the trial's artifacts/ (repeatable)", collect, [])
  .option("--json", "print the summary as JSON on stdout", false)
  .option("-q, --quiet", "no live progress", false)
  .option("--debug", "verbose logging", false)
  .action(async (opts, cmd: Command) => {
    const { runCommand } = await import("./commands/run.js");
    process.exitCode = await runCommand({ ...opts, nConcurrentGiven: cmd.getOptionValueSource("nConcurrent") === "cli" }, process.argv.slice(2));
  });

program
  .command("agent")
  .description("run the tmax agent once on an instruction in a fresh container, streaming each step")
  .argument("[instruction]", "what to do (with -p: defaults to the task's instruction.md)")
  .option("--image <image>", "container image to work in", "debian:bookworm-slim")
  .option("-p, --path <task-dir>", "work in a task's environment instead, and run its verifier afterwards")
  .option("-m, --model <name>", "the server's model name (an openai/ prefix is accepted)")
  .option("--base-url <url>", "OpenAI-compatible server (default: $OPENAI_BASE_URL)")
  .option("--api-key <key>", "API key (default: $OPENAI_API_KEY)")
  .option("--ak, --agent-kwarg <key=value>", "agent setting, e.g. --ak temperature=0.2 (repeatable)", parseKwarg, {})
  .option("--ae, --agent-env <KEY=VALUE>", "environment variable for the agent (repeatable)", parseEnvPair, {})
  .option("--workdir <dir>", "working directory in the container (with --image)")
  .option("--no-internet", "no network in the container (with --image)")
  .option("--agent-timeout <sec>", "stop the agent after this many seconds", positiveNumber)
  .option("-o, --jobs-dir <dir>", "where the run's job directory is written", "jobs")
  .option("--job-name <name>", "job directory name (default: agent__<start time>)")
  .addOption(new Option("-e, --env <type>", "container backend").choices(["podman", "docker"]).default("podman"))
  .option("--no-delete", "keep the container afterwards (stopped)")
  .option("--json", "print events as JSON lines", false)
  .action(async (instruction: string | undefined, opts) => {
    const { agentCommand } = await import("./commands/agent.js");
    process.exitCode = await agentCommand(instruction, opts);
  });

program
  .command("stats")
  .description("mean, mean ± SEM over runs, pass@k and errors of Harbor job directories (tmax's or Harbor's)")
  .argument("<job-dirs...>", "job directories")
  .option("--per-task", "also show per-task figures", false)
  .option("--json", "print a JSON array, one object per job", false)
  .action(async (dirs: string[], opts) => {
    const { statsCommand } = await import("./commands/stats.js");
    process.exitCode = await statsCommand(dirs, opts);
  });

const tasks = program.command("tasks").description("work with task directories");
tasks
  .command("check")
  .description("validate task directories and list every problem with its file and field")
  .argument("<dirs...>", "task or dataset directories")
  .option("--json", "print problems as JSON", false)
  .action(async (dirs: string[], opts) => {
    const { tasksCheckCommand } = await import("./commands/tasks-check.js");
    process.exitCode = await tasksCheckCommand(dirs, opts);
  });

const gen = program.command("gen").description("generate verified task corpora (sample → build → solve → decontam → analyze → export)");
gen
  .command("sample")
  .description("draw task specs from the nine axes of the taxonomy (same seed, same specs)")
  .option("-n, --n <count>", "number of specs", positiveInt, 100)
  .option("--corpus <kind>", "corpus kind: legacy, sft (sft_v2) or rl (rl_v2)", "legacy")
  .option("--seed <n>", "random seed", (v: string) => Number.parseInt(v, 10), 0)
  .option("--start <index>", "index of the first spec (to extend a run)", nonNegativeInt, 0)
  .option("-o, --output <file>", "specs file (JSONL)", "specs.jsonl")
  .option("--taxonomy <file>", "taxonomy file (default: data/taxonomy.json)")
  .option("-q, --quiet", "no summary", false)
  .action(async (opts) => {
    const { genSampleCommand } = await import("./commands/gen-sample.js");
    process.exitCode = await genSampleCommand(opts);
  });
gen
  .command("build")
  .description("write each spec's task with an LLM, validate it in containers, keep the ones that prove out")
  .argument("<specs>", "specs file from `tmax gen sample`")
  .option("-o, --output <dir>", "corpus directory", "corpus")
  .option("-m, --model <name>", "generator model (the server's model name)")
  .option("--base-url <url>", "OpenAI-compatible server (default: $OPENAI_BASE_URL)")
  .option("--api-key <key>", "API key (default: $OPENAI_API_KEY)")
  .option("-n, --concurrency <n>", "specs in flight", positiveInt, 4)
  .option("--budget-usd <usd>", "stop once the corpus has cost this much", positiveNumber)
  .option("--max-repairs <n>", "validation repair rounds per task", nonNegativeInt, 3)
  .option("--max-parse-retries <n>", "re-asks after an unparsable reply", nonNegativeInt, 2)
  .option("--max-tokens <n>", "max tokens per generator reply", positiveInt, 32768)
  .option("--input-cost-per-mtok <usd>", "price of a million prompt tokens (for cost tracking)", Number)
  .option("--output-cost-per-mtok <usd>", "price of a million completion tokens", Number)
  .option("--request-timeout <sec>", "seconds before a generator request is retried", positiveNumber, 3600)
  .option("--taxonomy <file>", "taxonomy file (default: data/taxonomy.json)")
  .addOption(new Option("-e, --env <type>", "container backend for validation").choices(["podman", "docker"]).default("podman"))
  .option("-q, --quiet", "no live progress", false)
  .action(async (specs: string, opts) => {
    const { genBuildCommand } = await import("./commands/gen-build.js");
    process.exitCode = await genBuildCommand(specs, opts);
  });

gen
  .command("solve")
  .description("pass@k per task through the runner, then difficulty tiers written into each task's metadata")
  .argument("<corpus>", "corpus directory")
  .option("-a, --agent <name>", "agent", "tmax")
  .option("-m, --model <name>", "model for the agent")
  .option("--base-url <url>", "OpenAI-compatible server (default: $OPENAI_BASE_URL)")
  .option("--api-key <key>", "API key (default: $OPENAI_API_KEY)")
  .option("--ak, --agent-kwarg <key=value>", "agent setting (repeatable)", parseKwarg, {})
  .option("--ae, --agent-env <KEY=VALUE>", "environment variable for the agent (repeatable)", parseEnvPair, {})
  .option("-k, --n-attempts <n>", "attempts per task", positiveInt, 8)
  .option("-n, --n-concurrent <n>", "trials at once", positiveInt, 4)
  .option("-o, --jobs-dir <dir>", "where the solve job goes (default: <corpus>/.solve)")
  .option("--job-name <name>", "job name (default: solve__<start time>)")
  .option("--from-job <dir>", "use a finished job's results instead of running one")
  .option("--second-job <dir>", "a second reference model's job, for two-model tiers")
  .addOption(new Option("-e, --env <type>", "container backend").choices(["podman", "docker"]).default("podman"))
  .option("-q, --quiet", "no live progress", false)
  .action(async (corpus: string, opts) => {
    const { genSolveCommand } = await import("./commands/gen-solve.js");
    process.exitCode = await genSolveCommand(corpus, opts);
  });

gen
  .command("analyze")
  .description("axis balance, acceptance and pass rates by axis, cost per task; writes an HTML report")
  .argument("<corpus>", "corpus directory")
  .option("-o, --output <file>", "HTML report path (default: <corpus>/report.html)")
  .option("--json", "print the analysis as JSON", false)
  .action(async (corpus: string, opts) => {
    const { genAnalyzeCommand } = await import("./commands/gen-analyze.js");
    process.exitCode = await genAnalyzeCommand(corpus, opts);
  });

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
  .action(async (corpus: string, opts) => {
    const { genDecontamCommand } = await import("./commands/gen-decontam.js");
    process.exitCode = await genDecontamCommand(corpus, { ...opts, n: opts.n ?? [13, 8] });
  });

gen
  .command("export")
  .description("publish a corpus: a Harbor dataset directory, or a Hugging Face datasets layout (JSONL or Parquet)")
  .argument("<corpus>", "corpus directory")
  .addOption(new Option("--format <format>", "output format").choices(["harbor", "jsonl", "parquet"]).default("harbor"))
  .option("-o, --output <dir>", "output directory", "export")
  .option("--include-truth", "also export each task's hidden ground truth (generation/)", false)
  .action(async (corpus: string, opts) => {
    const { genExportCommand } = await import("./commands/gen-export.js");
    process.exitCode = await genExportCommand(corpus, opts);
  });

const images = program.command("images").description("container images for offline machines");
images
  .command("bootstrap")
  .description("build a Debian base image with debootstrap and tag it as debian:bookworm-slim etc. (idempotent)")
  .option("--suite <name>", "Debian suite", "bookworm")
  .option("--mirror <url>", "Debian mirror (default: the Debian archive in this machine's apt sources, else http://deb.debian.org/debian)")
  .option("--force", "rebuild even if the image exists", false)
  .addOption(new Option("-e, --env <type>", "container backend").choices(["podman", "docker"]).default("podman"))
  .action(async (opts) => {
    const { imagesBootstrapCommand } = await import("./commands/images-bootstrap.js");
    process.exitCode = await imagesBootstrapCommand(opts);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`tmax: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
