import type { FunctionTool } from "../../model/types.js";

/** The command that ends a run. */
export const SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT";

/** Placeholder in the instance template, replaced by plain string substitution (no template engine). */
export const TASK_PLACEHOLDER = "{{task}}";

export const SYSTEM_PROMPT = `You are an autonomous agent working at a Linux terminal. You act only through the \`bash\` tool, which runs one shell command and returns its output and exit code.

Every reply must first explain briefly what you are thinking and why, and then call the \`bash\` tool exactly once. Commands chained with && or || count as one call. A reply with no tool call, with another tool, or without any reasoning is rejected.`;

export const INSTANCE_TEMPLATE = `Your task:

<task>
${TASK_PLACEHOLDER}
</task>

Create and edit files with ordinary shell tools, for example heredocs (cat <<'EOF' > file) and sed.

A good way to work:
1. Explore: find the relevant files and learn how things are set up.
2. Reproduce the problem, or check the current state.
3. Make the change.
4. Verify that it works.
5. Think of edge cases and check them too.
6. Submit.

To submit, run this command on its own, with nothing before or after it:
echo ${SUBMIT_MARKER}
Nothing can be done after that.

Rules:
- The working directory and exported environment variables persist between calls. Shell functions, aliases, unexported variables and shell options do not.
- Each command has a time limit: wrap anything that may run long in \`timeout\`, and start services in the background with their output sent to a file (server > /tmp/server.log 2>&1 &).
- Interactive programs (editors, pagers, prompts) are not available: use non-interactive flags or pipe the answers in.
- Long output is truncated, so narrow it down with head, tail, grep or sed -n.

Examples:
Create a file:
cat <<'EOF' > /app/hello.py
print("hello")
EOF
Replace text in place:
sed -i 's/old_name/new_name/g' /app/main.py
Show lines 20 to 40 with line numbers:
nl -ba /app/main.py | sed -n '20,40p'`;

/** The user message: the task (whitespace-trimmed) put into the instance template by plain replacement. */
export function instanceMessage(instruction: string, template = INSTANCE_TEMPLATE): string {
  return template.split(TASK_PLACEHOLDER).join(instruction.trim());
}

export const BASH_TOOL: FunctionTool = {
  type: "function",
  function: {
    name: "bash",
    description: "Run a bash command in a persistent shell: the working directory and exported variables carry over between calls.",
    parameters: {
      type: "object",
      properties: { command: { type: "string", description: "The bash command to run." } },
      required: ["command"],
    },
  },
};

/** Feedback for a reply without a valid `bash` call. */
export function formatErrorMessage(reason: string): string {
  return (
    `Format error: your reply did not contain a valid \`bash\` tool call (${reason}). ` +
    `Explain your reasoning, then make exactly one \`bash\` call. ` +
    `When the task is done, run \`echo ${SUBMIT_MARKER}\` as a command on its own.`
  );
}

/** First paragraph of a truncated observation. */
export const TRUNCATION_HINT =
  "The output was too long, so only its beginning and end are shown below. Read files in parts with head, tail or sed -n 'A,Bp'; use a more specific grep or find pattern; or redirect the output to a file and search that file.";

export function timeoutNotice(seconds: number): string {
  return `Command timed out after ${seconds}s and was killed.`;
}
