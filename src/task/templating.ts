/**
 * Resolves `${VAR}` and `${VAR:-default}` in task env values from the host environment. An unset variable
 * without a default is an error naming it (so secrets are never silently empty).
 */
export function resolveHostTemplate(
  value: string,
  hostEnv: Record<string, string | undefined> = process.env,
): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_all, name: string, fallback?: string) => {
    const v = hostEnv[name];
    if (v !== undefined && v !== "") return v;
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is not set (needed by \${${name}})`);
  });
}

export function resolveEnvMap(
  env: Record<string, string>,
  hostEnv: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = resolveHostTemplate(v, hostEnv);
  return out;
}
