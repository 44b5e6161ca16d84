/**
 * From loaded values to the environment of the command: one secret per variable, only values an
 * environment can hold, and no variable of the environment replaced unless the caller asked for it.
 */
import type { LoadFailure } from './failures.ts';

/** A value bound for one environment variable, and where it came from (for messages). */
export interface VariableValue {
  readonly variable: string;
  /** `api/db-password` or `ssm:///app/db-url`: what `--verbose` and errors name instead of the value. */
  readonly source: string;
  readonly value: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Linux refuses to start a program (E2BIG) with one environment string longer than this (MAX_ARG_STRLEN, 32 pages). */
export const MAX_VARIABLE_BYTES = 131_072;

/** Why `value` cannot be an environment variable's value, or undefined when it can. */
export function environmentValueProblem(value: string): string | undefined {
  return value.includes('\0') ? 'the value holds a NUL byte, which no environment variable can' : undefined;
}

/** The value as text an environment variable can hold, or why it cannot; the plaintext buffer is zeroed either way. */
function textValue(secret: { readonly source: string; readonly value: Buffer }): string | LoadFailure {
  const useFiles = '; use `kms-secrets write` for binary secrets';
  try {
    const text = UTF8.decode(secret.value);
    const problem = environmentValueProblem(text);
    return problem ? { subject: secret.source, kind: 'not-text', cause: problem + useFiles } : text;
  } catch {
    return { subject: secret.source, kind: 'not-text', cause: `the value is not UTF-8 text${useFiles}` };
  } finally {
    secret.value.fill(0);
  }
}

/**
 * The loaded secrets as variable values: text only, one secret per variable (two secrets of one service
 * or of two services that map to the same variable are an error: neither may silently win).
 */
export function secretValues(loaded: readonly { readonly variable: string; readonly source: string; readonly value: Buffer }[]): {
  values: VariableValue[]; failures: LoadFailure[];
} {
  const values: VariableValue[] = [];
  const failures = duplicateVariables(loaded);
  for (const secret of loaded) {
    const text = textValue(secret);
    if (typeof text === 'string') values.push({ variable: secret.variable, source: secret.source, value: text });
    else failures.push(text);
  }
  return { values, failures };
}

/** Failures for every secret whose variable an earlier one already claims. */
export function duplicateVariables(entries: readonly { readonly variable: string; readonly source: string }[]): LoadFailure[] {
  const first = new Map<string, string>();
  const failures: LoadFailure[] = [];
  for (const { variable, source } of entries) {
    const seen = first.get(variable);
    if (seen) failures.push({ subject: source, kind: 'naming', cause: `maps to ${variable}, like ${seen}; two secrets cannot set one variable` });
    else first.set(variable, source);
  }
  return failures;
}

/**
 * `base` with each resolved reference replacing its own variable, and the secrets added. A secret whose
 * variable is already in `base` (even empty) is refused unless `override`: an image or task definition
 * that sets DB_PASSWORD should not be silently contradicted, nor silently win.
 */
export function childEnvironment(
  base: NodeJS.ProcessEnv, references: readonly VariableValue[], secrets: readonly VariableValue[], override: boolean,
): { env: NodeJS.ProcessEnv; failures: LoadFailure[] } {
  const env = { ...base };
  const failures: LoadFailure[] = [];
  for (const reference of references) env[reference.variable] = reference.value;
  for (const secret of secrets) {
    if (base[secret.variable] !== undefined && !override) {
      failures.push({
        subject: secret.source,
        kind: 'already-set',
        cause: `${secret.variable} is already set in the environment; unset it, or pass --override (SECRETS_OVERRIDE=1) to let the secret replace it`,
      });
    } else {
      env[secret.variable] = secret.value;
    }
  }
  return { env, failures };
}

/**
 * Failures for every value too large to be one environment variable on Linux, so that the start fails
 * naming the secret instead of with the kernel's bare E2BIG. Files have no such limit: `write` does.
 */
export function oversizedValues(values: readonly VariableValue[], platform: NodeJS.Platform = process.platform): LoadFailure[] {
  if (platform !== 'linux') return [];
  return values.flatMap(({ variable, source, value }) => {
    const bytes = Buffer.byteLength(variable) + 1 + Buffer.byteLength(value) + 1; // NAME=value and its NUL
    return bytes <= MAX_VARIABLE_BYTES ? [] : [{
      subject: source,
      kind: 'too-large' as const,
      cause: `${variable} would take ${bytes.toLocaleString('en')} bytes of the environment, and Linux allows ${MAX_VARIABLE_BYTES.toLocaleString('en')} `
        + 'for one variable; give it to the app as a file with `kms-secrets write`',
    }];
  });
}
