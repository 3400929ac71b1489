import type { RecordedRequest, Turn } from "./scripted-model.js";

/**
 * Scripted task-generator replies for `tmax gen build` tests: a small, real task (sum the numbers of a generated
 * file), plus broken variants of each component. A scenario is chosen by the spec's persona, which appears in the
 * task-stage prompt and is carried in every later conversation of that spec.
 */

export const INSTRUCTION = `The file /app/numbers.txt holds one integer per line; it was exported by our billing job last night.
Compute the sum of all the integers in the file and write it, as a plain decimal number followed by a newline,
to /app/sum.txt. Do not modify /app/numbers.txt. Negative numbers may appear and must be included in the sum.
The checker reads /app/sum.txt and compares it with the true total of the file.`;

export const TASK_REPLY = `<summary>Sum the integers of /app/numbers.txt into /app/sum.txt</summary>
<instruction>
${INSTRUCTION}
</instruction>
<truth>
numbers.txt is generated with random.Random(42): 200 integers in [-1000, 1000]. The expected answer is sum(int(l) for l in open('/app/numbers.txt')).
</truth>`;

const MAKE_NUMBERS = `import random
rng = random.Random(42)
with open("/app/numbers.txt", "w") as f:
    for _ in range(200):
        f.write(f"{rng.randint(-1000, 1000)}\\n")
`;

const INITIAL_TEST = `import os

def test_numbers_exist():
    assert os.path.isfile("/app/numbers.txt")
    lines = open("/app/numbers.txt").read().split()
    assert len(lines) == 200
`;

export const ENV_REPLY = `<dockerfile>
COPY make_numbers.py /tmp/make_numbers.py
RUN python3 /tmp/make_numbers.py && rm /tmp/make_numbers.py
</dockerfile>
<file path="make_numbers.py">
${MAKE_NUMBERS}</file>
<initial_test>
${INITIAL_TEST}</initial_test>`;

/** Does not build. */
export const ENV_REPLY_BROKEN_BUILD = `<dockerfile>
COPY make_numbers.py /tmp/make_numbers.py
RUN python3 /tmp/make_numbers.py && exit 3
</dockerfile>
<file path="make_numbers.py">
${MAKE_NUMBERS}</file>
<initial_test>
${INITIAL_TEST}</initial_test>`;

export const TESTS_REPLY = `<final_test>
def test_sum():
    expected = sum(int(x) for x in open("/app/numbers.txt").read().split())
    got = open("/app/sum.txt").read().strip()
    assert got == str(expected), f"sum.txt holds {got!r}, expected {expected}"
</final_test>`;

/** Passes without any work. */
export const TESTS_REPLY_TRIVIAL = `<final_test>
import os

def test_numbers_still_there():
    assert os.path.exists("/app/numbers.txt")
</final_test>`;

export const SOLUTION_REPLY = `<solve_sh>
#!/bin/bash
set -euo pipefail
awk '{ s += $1 } END { print s }' /app/numbers.txt > /app/sum.txt
</solve_sh>`;

/** Runs, but computes the wrong thing. */
export const SOLUTION_REPLY_WRONG = `<solve_sh>
#!/bin/bash
wc -l < /app/numbers.txt > /app/sum.txt
</solve_sh>`;

export type Scenario =
  | "good"
  | "build-repaired"
  | "build-broken"
  | "tests-trivial"
  | "solution-repaired"
  | "solution-wrong"
  | "malformed-then-good"
  | "malformed-always";

type StageKind = "task" | "environment" | "tests" | "solution";

function stageOf(req: RecordedRequest): StageKind {
  const firstUser = req.body.messages.find((m) => m.role === "user")?.content ?? "";
  if (firstUser.startsWith("Create one task")) return "task";
  if (firstUser.startsWith("Now build the environment")) return "environment";
  if (firstUser.startsWith("Now write the final-state test")) return "tests";
  return "solution";
}

function scenarioOf(req: RecordedRequest): Scenario {
  const all = req.body.messages.map((m) => m.content ?? "").join("\n");
  const m = /scenario:([a-z-]+)/.exec(all);
  return (m?.[1] ?? "good") as Scenario;
}

/** How many assistant replies this conversation already has (0 = first ask). */
const replies = (req: RecordedRequest): number => req.body.messages.filter((m) => m.role === "assistant").length;

/** The scripted generator: decides each reply from the request alone (stage, scenario, turn). */
export function generatorScript(req: RecordedRequest): Turn {
  const stage = stageOf(req);
  const scenario = scenarioOf(req);
  const n = replies(req);
  const text = (content: string): Turn => ({ kind: "text", content });
  switch (stage) {
    case "task":
      if (scenario === "malformed-always") return text("<summary>no closing tags here");
      if (scenario === "malformed-then-good" && n === 0) return text(`<summary>x</summary>\n<instruction>\n${INSTRUCTION}\n</instruction>`);
      // The instruction carries the scenario so later stages (separate conversations) can see it.
      return text(TASK_REPLY.replace("</instruction>", `(Reference: scenario:${scenario})\n</instruction>`));
    case "environment":
      if (scenario === "build-broken") return text(ENV_REPLY_BROKEN_BUILD);
      if (scenario === "build-repaired" && n === 0) return text(ENV_REPLY_BROKEN_BUILD);
      return text(ENV_REPLY);
    case "tests":
      return text(scenario === "tests-trivial" ? TESTS_REPLY_TRIVIAL : TESTS_REPLY);
    case "solution":
      if (scenario === "solution-wrong") return text(SOLUTION_REPLY_WRONG);
      if (scenario === "solution-repaired" && n === 0) return text(SOLUTION_REPLY_WRONG);
      return text(SOLUTION_REPLY);
  }
}
