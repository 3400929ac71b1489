/**
 * Secrets in job files, masked as Harbor masks them (harbor/utils/env.py: templatize_sensitive_env): a value under
 * a sensitive name (KEY, SECRET, TOKEN, PASSWORD, CREDENTIAL, AUTH) is written as the template `${NAME}` when it is
 * what the host environment holds under that name (so a resume reads it back from there), otherwise redacted to
 * its first 4 and last 3 characters (`sk-x****789`; `****` when 8 characters or fewer), and a resume needs it given
 * again. Empty values, templates and values under other names are written as they are.
 */

const SENSITIVE_KEY = /(KEY|SECRET|TOKEN(?!S)|PASSWORD|CREDENTIAL|AUTH)/i;
const TEMPLATE = /^\$\{([^}:]+)(?::-(.*))?\}$/s;
const REDACTED = /^(?:.{4})?\*\*\*\*(?:.{3})?$/s;

type HostEnv = Record<string, string | undefined>;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function isEnvTemplate(value: string): boolean {
  return TEMPLATE.test(value);
}

/** Harbor's redaction: first 4 and last 3 characters around `****`. */
export function redactValue(value: string): string {
  return value.length <= 8 ? "****" : `${value.slice(0, 4)}****${value.slice(-3)}`;
}

/** A value this module (or Harbor) wrote in place of a secret: it cannot be used, the secret must be given again. */
export function isRedacted(value: string): boolean {
  return REDACTED.test(value);
}

/** How one value under `key` is written to a job file. */
export function maskValue(key: string, value: string, hostEnv: HostEnv = process.env): string {
  if (!value || isEnvTemplate(value) || !isSensitiveKey(key)) return value;
  return hostEnv[key] === value ? `\${${key}}` : redactValue(value);
}

/** An environment map as job files hold it (agent, verifier and environment env). */
export function maskEnv(env: Record<string, string>, hostEnv: HostEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, maskValue(k, v, hostEnv)]));
}

/** Agent kwargs as job files hold them: a string under a sensitive name (`api_key`) is masked like an env value. */
export function maskKwargs(kwargs: Record<string, unknown>, hostEnv: HostEnv = process.env): Record<string, unknown> {
  return Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [k, typeof v === "string" ? maskValue(k, v, hostEnv) : v]));
}

/** `KEY=VALUE` with VALUE masked (Harbor's sanitize_env_assignment). */
export function maskAssignment(assignment: string, hostEnv: HostEnv = process.env): string {
  const eq = assignment.indexOf("=");
  if (eq < 0) return assignment;
  const key = assignment.slice(0, eq).trim();
  return `${key}=${maskValue(key, assignment.slice(eq + 1).trim(), hostEnv)}`;
}

/** Options whose value is `KEY=VALUE` (masked by KEY), and options whose whole value is a secret. */
const ASSIGNMENT_FLAGS = new Set(["--ve", "--verifier-env", "--ae", "--agent-env", "--ak", "--agent-kwarg", "--ek", "--environment-kwarg"]);
const SECRET_FLAGS: Record<string, string> = { "--api-key": "OPENAI_API_KEY" };

/** The command line as lock.json records it: every value of the options above masked. */
export function maskInvocation(argv: readonly string[], hostEnv: HostEnv = process.env): string[] {
  const out: string[] = [];
  const mask = (flag: string, value: string): string => {
    if (ASSIGNMENT_FLAGS.has(flag)) return maskAssignment(value, hostEnv);
    const name = SECRET_FLAGS[flag]!;
    return value && !isEnvTemplate(value) ? (hostEnv[name] === value ? `\${${name}}` : redactValue(value)) : value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const known = ASSIGNMENT_FLAGS.has(flag) || flag in SECRET_FLAGS;
    if (known && flag !== arg) out.push(`${flag}=${mask(flag, arg.slice(eq + 1))}`);
    else if (known && i + 1 < argv.length) out.push(arg, mask(flag, argv[++i]!));
    else out.push(arg);
  }
  return out;
}
