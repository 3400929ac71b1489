/**
 * Removes leading canary comment lines (an HTML comment or a `#` comment mentioning "canary") and the blank
 * lines right after them, so benchmark canary strings never reach the agent.
 */
export function stripCanary(text: string): string {
  const lines = text.split(/\r?\n/);
  let i = 0;
  let strippedAny = false;
  while (i < lines.length) {
    const line = lines[i]!;
    const trimmed = line.trim();
    const isComment = trimmed.startsWith("<!--") || trimmed.startsWith("#");
    if (isComment && /canary/i.test(trimmed)) {
      strippedAny = true;
      i++;
      continue;
    }
    if (strippedAny && trimmed === "") {
      i++;
      continue;
    }
    break;
  }
  return strippedAny ? lines.slice(i).join("\n") : text;
}
