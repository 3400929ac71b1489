import type { TaskSpec } from "../store/corpus-schema.js";
import type { Taxonomy } from "./taxonomy.js";

/**
 * The task generator's prompts (tmax's own text). Four stages (LLM_STAGES in stages.ts), each a short conversation
 * with the generator model: task (instruction + hidden truth), environment (Dockerfile body, fixture scripts,
 * initial-state test), tests (final-state pytest), solution (solve.sh). Replies use simple XML-like tags that
 * parse.ts reads strictly.
 */

/** The fixed start of every generated Dockerfile; the environment stage writes what follows. */
export const DOCKERFILE_PREAMBLE = `FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pytest ca-certificates && apt-get clean
WORKDIR /app
`;

const ENVIRONMENT_FACTS = `The task runs in a container built from this fixed Dockerfile preamble:

\`\`\`
${DOCKERFILE_PREAMBLE}\`\`\`

Facts about that environment:
- Debian 12 (bookworm). Packages come from the Debian apt mirror only (run \`apt-get update\` before \`apt-get install -y --no-install-recommends ...\`). There is NO other network access: pip, npm, cargo, go get, curl or git clone of anything outside the Debian mirror will fail. Use Debian packages (python3-numpy, python3-requests, gcc, golang, rustc, cargo with vendored code only, ...).
- python3 and pytest are installed. The working directory is /app. The agent works as root.
- The agent never sees the tests or the reference solution: they are copied in only when grading starts.`;

function axisText(t: Taxonomy, spec: TaskSpec): string {
  const complexity = t.task_complexity.find((c) => c.name === spec.task_complexity);
  const command = t.command_complexity.find((c) => c.name === spec.command_complexity);
  const verifier = t.verifier_kinds.find((v) => v.name === spec.verifier_kind);
  const fixture = t.fixture_kinds.find((f) => f.name === spec.fixture_kind);
  const lines = [
    `- Category: ${spec.skill_type} (domain: ${spec.domain})`,
    `- Primary language for any code: ${spec.language === "any" ? "your choice" : spec.language}`,
    `- Skills to combine: ${spec.skills.join("; ")}`,
    `- Task size: ${spec.task_complexity}${complexity ? ` (${complexity.description})` : ""}`,
    `- Tools involved: ${spec.command_complexity}${command ? ` (${command.description})` : ""}`,
    `- Person asking: ${spec.persona}`,
    `- How the result is checked: ${spec.verifier_kind}${verifier ? ` (${verifier.description})` : ""}`,
    `- Input artifacts: ${spec.fixture_kind}${fixture ? ` (${fixture.description})` : ""}`,
  ];
  if (spec.anchor) lines.push(`- A real situation to draw inspiration from (do not copy it literally): ${spec.anchor}`);
  return lines.join("\n");
}

export function taskSystemPrompt(t: Taxonomy, spec: TaskSpec): string {
  const domain = t.domains.find((d) => d.name === spec.domain);
  return `You design tasks for evaluating and training autonomous terminal agents. You are an expert in ${spec.domain.replace(/_/g, " ")}${domain ? `: ${domain.focus.join(", ")}` : ""}.

A good task is hard to solve but easy to check by a program; it is realistic, self-contained and unambiguous, and it takes real multi-step work at a terminal. Write it the way the person asking would: state exact paths, formats, ports and file names that the checker relies on, but never the commands or the solution. Do not limit how many commands the agent may use and do not discourage it from printing output. Do not depend on current events, the internet (beyond installing Debian packages during the image build) or interactive programs.

Alongside the task, write the hidden ground truth a grader needs: what the correct end state is and how to recompute it. Keep the truth consistent with the task, reproducible (prefer short runnable snippets or exact procedures over opaque constants), ordered the way things happen, and stated once. Secrets and expected answers go only into the truth, never into the task text.

${ENVIRONMENT_FACTS}`;
}

export function taskUserPrompt(t: Taxonomy, spec: TaskSpec): string {
  const verifier = t.verifier_kinds.find((v) => v.name === spec.verifier_kind);
  const needs = verifier?.truth_requirements ? `\nBecause of how the result is checked, the truth must state: ${verifier.truth_requirements}` : "";
  return `Create one task from these ingredients:

${axisText(t, spec)}
${needs}
Combine the skills into one coherent, realistic scenario — not a textbook exercise. Any code the task asks for is in the primary language. Be precise about every output the checker will read (paths, formats, ordering, rounding).

Reply with exactly these three sections and nothing else:
<summary>one line, under 120 characters, saying what the task is</summary>
<instruction>
the task as the person would write it (about 200 to 1,200 words; markdown allowed)
</instruction>
<truth>
the hidden ground truth for the grader
</truth>`;
}

/** Context blocks of a prompt, each wrapped in its tag. */
function tagged(blocks: [tag: string, body: string][]): string {
  return blocks.map(([tag, body]) => `<${tag}>\n${body}\n</${tag}>`).join("\n");
}

export function environmentPrompt(spec: TaskSpec, instruction: string, truth: string): string {
  return `Now build the environment for this task.

${tagged([["instruction", instruction], ["truth", truth]])}

${ENVIRONMENT_FACTS}

Write:
1. The rest of the Dockerfile after the preamble: install what the task needs, create the files, data and programs the agent starts from, and generate every input artifact (${spec.fixture_kind}) with scripts at build time — deterministically, with fixed seeds. Do not paste generated data or binary blobs; write the generator instead. No FROM line, no build arguments, no {{placeholders}}.
2. Every file that the Dockerfile COPYs, with its path relative to the build context.
3. An initial-state test: a pytest file (python3 standard library and pytest only) that checks the environment is ready BEFORE the agent acts — the inputs exist and look right. It must not check anything the agent is supposed to produce.

Never put answers, expected outputs or the solution in the image: the final tests will recompute or embed them instead.

Reply in exactly this form:
<dockerfile>
RUN ...
COPY make_data.py /tmp/make_data.py
RUN python3 /tmp/make_data.py && rm /tmp/make_data.py
</dockerfile>
<file path="make_data.py">
...
</file>
<initial_test>
import os
def test_inputs_exist():
    ...
</initial_test>`;
}

export function testsPrompt(instruction: string, truth: string, environment: string, initialTest: string): string {
  return `Now write the final-state test: the grader that decides whether the agent solved the task.

${tagged([["instruction", instruction], ["truth", truth], ["environment", environment], ["initial_test", initialTest]])}

Rules:
- A pytest file; it runs as root with /app as the working directory, after the agent has finished, from /tests.
- Treat the truth as intent: recompute expected values in the test code from the inputs where you can, following the order in which things happen in the environment. Prefer checking invariants and the exact fields the instruction promises over whole-file equality.
- It must FAIL on the untouched environment and PASS once the task is done correctly.
- Failure messages say what is still wrong (for measured values: the value and the threshold; for batches of inputs: how many failed and one example).
- Use the python3 standard library, pytest, and Debian packages installed by the Dockerfile; install nothing.
- Binary reward (pass/fail) is the default. For a graded score, also write /logs/verifier/reward.json as {"reward": <0..1>, ...} yourself; the reward must be exactly 1 for a correct solution and exactly 0 for the untouched environment.

Reply in exactly this form:
<final_test>
...python source...
</final_test>`;
}

export function solutionPrompt(instruction: string, truth: string, environment: string, finalTest: string): string {
  return `Finally, write the reference solution: a bash script that solves the task from the untouched environment.

${tagged([["instruction", instruction], ["truth", truth], ["environment", environment], ["final_test", finalTest]])}

It runs as root in /app, non-interactively, without network access beyond what the task allows. Solve the task the way an expert would at the terminal (writing code files with heredocs is fine); do not read the tests, they are not there.

Reply in exactly this form:
<solve_sh>
#!/bin/bash
set -euo pipefail
...
</solve_sh>`;
}

/** The message after a reply that could not be parsed. */
export function parseRetryPrompt(error: string): string {
  return `Your reply could not be used: ${error}\nReply again, in full, in exactly the requested form.`;
}

/** The message after validation failed at a stage this conversation produced. */
export function repairPrompt(problem: string, details: string): string {
  return `Validation in a real container failed: ${problem}\n\n<details>\n${details}\n</details>\n\nFix it. Reply again, in full, in exactly the same form as before.`;
}
