/**
 * Which secrets a process loads: a bucket, an env and services, from flags or from the variables a task
 * definition sets (SECRETS_BUCKET, SECRETS_ENV, SECRETS_SERVICES), and the loader variables the env's
 * settings let secrets set (SECRETS_ALLOW_LOADER_VARIABLES, from the stack's output). Flags win over variables.
 */
import { UsageError } from '../lib/errors.ts';
import { envOrServiceProblem } from '../lib/naming.ts';

export interface Selection {
  readonly bucket: string;
  /** The env of the encryption context: a ciphertext of another env does not decrypt. */
  readonly env: string;
  readonly services: readonly string[];
  /** Loader variables (NODE_OPTIONS, LD_PRELOAD, …) a secret may set after all. @default [] */
  readonly allowLoaderVariables?: readonly string[];
}

export interface SelectionFlags {
  readonly bucket?: string;
  readonly env?: string;
  /** Repeatable; each value may also be comma-separated. */
  readonly service?: readonly string[];
  /** Repeatable; each value may also be comma-separated. */
  readonly 'allow-loader-variable'?: readonly string[];
}

export function selectionFrom(flags: SelectionFlags, environ: NodeJS.ProcessEnv): Selection {
  const bucket = flags.bucket ?? environ.SECRETS_BUCKET;
  const env = flags.env ?? environ.SECRETS_ENV;
  const services = listOf(flags.service, environ.SECRETS_SERVICES);
  const allowLoaderVariables = listOf(flags['allow-loader-variable'], environ.SECRETS_ALLOW_LOADER_VARIABLES);
  const missing = [
    !bucket && '--bucket (or SECRETS_BUCKET)',
    !env && '--env (or SECRETS_ENV)',
    services.length === 0 && '--service (or SECRETS_SERVICES, comma-separated)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`missing ${missing.join(', ')}`, {
      hint: 'a task definition sets SECRETS_BUCKET, SECRETS_ENV and SECRETS_SERVICES; the stack outputs them per service',
    });
  }
  const selection = { bucket: bucket!, env: env!, services: [...new Set(services)], allowLoaderVariables };
  assertSelection(selection);
  return selection;
}

/** Checks env and service names by the tree's rules, so a typo fails before any AWS call. */
export function assertSelection(selection: Selection): void {
  const problem = envOrServiceProblem('env', selection.env)
    ?? selection.services.map((service) => envOrServiceProblem('service', service)).find(Boolean);
  if (problem) throw new UsageError(problem);
  if (!selection.bucket) throw new UsageError('the bucket name is empty');
  if (selection.services.length === 0) throw new UsageError('no service selected');
}

/** Repeated flags, else a variable; each value may be comma-separated. */
function listOf(flags: readonly string[] | undefined, variable: string | undefined): string[] {
  return (flags ?? (variable ? [variable] : [])).flatMap((value) => value.split(',')).map((item) => item.trim()).filter(Boolean);
}
