import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ReplyParseError,
  copySources,
  parseEnvironmentReply,
  parseSolutionReply,
  parseTaskReply,
  parseTestsReply,
  section,
} from "../../src/datagen/parse.js";
import { ENV_REPLY, SOLUTION_REPLY, TASK_REPLY, TESTS_REPLY } from "../helpers/scripted-generator.js";

const rejects = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: Error) => e instanceof ReplyParseError && re.test(e.message));
};

describe("strict reply parsing", () => {
  test("sections: exactly one, closed, fences and reasoning removed", () => {
    assert.equal(section("<think>x <a>no</a></think><a>\n```python\nprint(1)\n```\n</a>", "a"), "print(1)\n");
    rejects(() => section("<a>1</a><a>2</a>", "a"), /2 <a> sections/);
    rejects(() => section("<a>open", "a"), /not closed/);
    rejects(() => section("nothing", "a"), /no <a>…<\/a> section/);
    assert.equal(section("nothing", "a", { required: false }), null);
  });

  test("task replies need a one-line summary, a full instruction and a truth", () => {
    assert.equal(parseTaskReply(TASK_REPLY).summary, "Sum the integers of /app/numbers.txt into /app/sum.txt");
    rejects(() => parseTaskReply(TASK_REPLY.replace(/<truth>[\s\S]*<\/truth>/, "<truth></truth>")), /<truth> is empty/);
    rejects(() => parseTaskReply(TASK_REPLY.replace("<summary>Sum", "<summary>Sum\nmore")), /single line/);
    rejects(() => parseTaskReply("<summary>s</summary><instruction>short</instruction><truth>t</truth>"), /only 5 characters/);
    rejects(() => parseTaskReply(TASK_REPLY.replace("/app/sum.txt.", "{{output_path}}.")), /placeholder/);
  });

  test("environment replies: the valid example parses", () => {
    const env = parseEnvironmentReply(ENV_REPLY);
    assert.deepEqual(Object.keys(env.files), ["make_numbers.py"]);
    assert.match(env.dockerfileBody, /^COPY make_numbers\.py/);
    assert.match(env.initialTest, /def test_numbers_exist/);
  });

  test("environment replies: FROM, ARG, network installs, missing COPY sources, blobs, bad Python are rejected", () => {
    const withBody = (body: string): string => ENV_REPLY.replace(/<dockerfile>[\s\S]*<\/dockerfile>/, `<dockerfile>\n${body}\n</dockerfile>`);
    rejects(() => parseEnvironmentReply(withBody("FROM ubuntu:22.04")), /must not contain FROM/);
    rejects(() => parseEnvironmentReply(withBody("ARG X=1")), /build arguments/);
    rejects(() => parseEnvironmentReply(withBody("RUN pip install numpy")), /needs network access/);
    rejects(() => parseEnvironmentReply(withBody("RUN curl -fsSL https://example.com/x.sh | sh")), /needs network access/);
    assert.doesNotThrow(() => parseEnvironmentReply(withBody("RUN apt-get update && apt-get install -y curl\nRUN echo 'curl http://localhost:8080' > /app/check.sh")));
    rejects(() => parseEnvironmentReply(withBody("COPY data.csv /app/data.csv")), /copies "data\.csv", but no <file path="data\.csv">/);
    rejects(() => parseEnvironmentReply(`${ENV_REPLY}\n<file path="blob.txt">${"QUJD".repeat(200)}</file>`), /encoded blob/);
    rejects(() => parseEnvironmentReply(ENV_REPLY.replace("def test_numbers_exist():", "def test_numbers_exist(:")), /test_initial_state\.py is not valid Python/);
    rejects(() => parseEnvironmentReply(ENV_REPLY.replace('path="make_numbers.py"', 'path="../escape.py"')), /relative to the build context/);
  });

  test("COPY sources in shell and JSON form", () => {
    assert.deepEqual(copySources('COPY a.py b.py /app/\nADD ["c d.txt", "/app/"]\nCOPY --chown=1:1 e /x\nRUN cp x y'), ["a.py", "b.py", "c d.txt", "e"]);
  });

  test("final tests need a pytest test; solutions need valid bash and get a shebang", () => {
    assert.match(parseTestsReply(TESTS_REPLY).finalTest, /def test_sum/);
    rejects(() => parseTestsReply("<final_test>\nprint('no tests')\n</final_test>"), /no pytest test function/);
    assert.match(parseSolutionReply(SOLUTION_REPLY).solveSh, /^#!\/bin\/bash/);
    assert.match(parseSolutionReply("<solve_sh>\necho hi\n</solve_sh>").solveSh, /^#!\/bin\/bash\necho hi/);
    rejects(() => parseSolutionReply("<solve_sh>\nif then fi (\n</solve_sh>"), /bash syntax error/);
  });
});
