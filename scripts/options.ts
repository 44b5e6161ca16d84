/**
 * What the operator commands share: which env they act on, which key and region, and the AWS clients.
 *
 * Env: `--env`, else SECRETS_ENV, else the settings' defaultEnv. An env is a directory under secrets/
 * (one stack, with its own state, each), so a name without one is unknown — except for `encrypt --env NEW`:
 * naming a new env on the command line is how its first secret (and so its stack) comes to exist, while a
 * typo in SECRETS_ENV or a stale defaultEnv never silently starts one. Two more cases for encrypt: in a
 * project with no env at all, the settings' defaultEnv is started (nothing exists to mistype), and a new
 * name one or two letters from an existing env is taken for a typo of it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertProfileExists, awsClients, type AwsClients, type Retry } from '../lib/aws.ts';
import { KmsSecretsError, SecretsTreeError } from '../lib/errors.ts';
import { assertEnvName } from '../lib/naming.ts';
import { printable } from '../lib/printable.ts';
import type { EnvironmentSettings, Settings } from '../lib/settings.ts';
import { scanSecretsTree, SECRETS_DIR, type SecretFile } from '../lib/tree.ts';

/** The option definitions every AWS-calling command accepts, for node:util parseArgs. */
export const AWS_OPTIONS = {
  profile: { type: 'string' },
  region: { type: 'string' },
} as const;

export const ENV_OPTION = { env: { type: 'string', short: 'e' } } as const;

export interface ChosenEnv {
  readonly env: string;
  /** Whether secrets/<env> does not exist yet (only encrypt may create it), and why it may. */
  readonly isNew: false | 'named' | 'first';
}

/** The env a command acts on; `allowNew` lets a new env start without a directory (see above). */
export function chooseEnv(projectRoot: string, settings: Settings, flag: string | undefined, allowNew = false): ChosenEnv {
  const fromEnvironment = process.env.SECRETS_ENV || undefined;
  const env = flag ?? fromEnvironment ?? settings.defaultEnv;
  assertEnvName(env);
  if (existsSync(join(projectRoot, SECRETS_DIR, env))) return { env, isNew: false };
  const source = flag !== undefined ? '--env' : fromEnvironment !== undefined ? 'SECRETS_ENV' : 'the settings\' defaultEnv';
  const known = knownEnvironments(projectRoot);
  const meant = known.find((existing) => editDistance(existing, env) <= Math.min(2, Math.floor(existing.length / 3)));
  if (allowNew && flag !== undefined && meant) {
    throw new KmsSecretsError(`unknown env "${env}" (from --env): did you mean "${meant}"? envs: ${known.join(', ')}`, {
      hint: `to start a new env "${env}" all the same, create its directory first: mkdir ${SECRETS_DIR}/${env}`,
    });
  }
  if (allowNew && flag !== undefined) return { env, isNew: 'named' };
  if (allowNew && known.length === 0 && source === 'the settings\' defaultEnv') return { env, isNew: 'first' };
  throw new KmsSecretsError(
    `unknown env "${env}" (from ${source}): there is no ${SECRETS_DIR}/${env} directory; envs: ${known.join(', ') || 'none yet'}`,
    {
      hint: allowNew
        ? `to start a new env, name it on the command line: --env ${env}`
        : 'choose an env with --env or SECRETS_ENV',
    },
  );
}

/** Levenshtein distance: the fewest letters to insert, delete or replace to turn one name into the other. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The env directories under secrets/, sorted. */
function knownEnvironments(projectRoot: string): string[] {
  const root = join(projectRoot, SECRETS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

export interface AwsFlags {
  readonly profile?: string;
  readonly region?: string;
}

/**
 * Clients for an env. Region: --region, else what the SDK finds (AWS_REGION, the profile's region),
 * else the env's region from the settings — the region its key lives in.
 */
export async function clientsForEnv(flags: AwsFlags, envSettings: EnvironmentSettings): Promise<AwsClients> {
  if (flags.profile !== undefined) assertProfileExists(flags.profile, '--profile');
  else if (process.env.AWS_PROFILE) assertProfileExists(process.env.AWS_PROFILE, 'AWS_PROFILE');
  const region = flags.region ?? process.env.AWS_REGION ?? (await profileRegion(flags.profile)) ?? envSettings.region;
  return awsClients({ region, profile: flags.profile, onRetry: announceRetry });
}

/**
 * A retried call on stderr, as it starts: an endpoint that does not answer takes the SDK 8 attempts of up to
 * 5 s each and the backoff between them, which must not pass in silence. stdout stays the command's.
 */
function announceRetry({ service, endpoint, attempt, maxAttempts, cause }: Retry): void {
  process.stderr.write(`kms-secrets: waiting for ${service} at ${endpoint}: attempt ${attempt} of ${maxAttempts}${cause ? ` (the last: ${printable(cause)})` : ''}\n`);
}

/** The region of the selected profile in the shared config, as the SDK itself would resolve it. */
async function profileRegion(profile: string | undefined): Promise<string | undefined> {
  try {
    return await awsClients({ profile }).kms.config.region();
  } catch {
    return undefined; // no region configured anywhere: the settings decide
  }
}

/**
 * The secret files of one env (or of all), after checking the tree: a problem in scope is an error that
 * lists every problem there, while problems in other envs do not stop work on this one.
 */
export async function secretsInScope(projectRoot: string, settings: Settings, env?: string): Promise<SecretFile[]> {
  const tree = await scanSecretsTree(projectRoot, settings);
  const inScope = (path: string) => env === undefined || path.startsWith(`${SECRETS_DIR}/${env}/`) || path === `${SECRETS_DIR}/${env}`;
  const problems = tree.problems.filter((problem) => inScope(problem.file));
  if (problems.length > 0) throw new SecretsTreeError(problems);
  return tree.files.filter((file) => env === undefined || file.env === env);
}
