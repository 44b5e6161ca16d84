/**
 * `npm run local -- --as <principal> [--dir .local-aws]`: the shell lines that make a shell act as one principal
 * of the project's local env on the running local endpoint, for `eval "$(npm run -s local -- --as developer)"`.
 * The principals are those the env's settings create: developer, deployer and ci-plan (roles.*), task-<service>
 * (what ECS hands a task of the service), break-glass (the env's breakGlassPrincipals role), and admin (the
 * account root, which deploys). The env is SECRETS_ENV, else the settings' defaultEnv.
 */
import { findProjectRoot } from '../lib/project-root.ts';
import { KmsSecretsError } from '../lib/errors.ts';
import { loadSettings, type EnvironmentSettings } from '../lib/settings.ts';
import { ecsTaskCredentialsUrl, runningEndpoint, TEST_CREDENTIALS } from '../local/index.ts';
import { iamName } from '../stacks/iam-names.ts';
import { assumeRole, credentialsEnv } from './local-project.ts';
import { chooseEnv } from './options.ts';

export const PRINCIPALS = 'developer, deployer, ci-plan, task-<service>, break-glass or admin';

/** What decides who a process is and which endpoint it asks: unset first, so no earlier principal lingers. */
const IDENTITY_VARIABLES = [
  'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME',
];

/** Who --as acts as, and how a process gets its credentials. */
interface Identity {
  readonly description: string;
  readonly variables: Record<string, string>;
}

/**
 * Writes `unset …` and then `export …` lines to stdout, and one line to stderr saying who the shell now is.
 * On a failure only the `unset` line is written, so an `eval` leaves the shell acting as nobody rather than
 * as the principal before, and the error is thrown.
 */
export async function actAs(principal: string, stateDir: string, write: (text: string) => void = (text) => process.stdout.write(text)): Promise<string> {
  const unset = [...new Set([...IDENTITY_VARIABLES, ...Object.keys(process.env).filter((name) => name.startsWith('AWS_ENDPOINT_URL'))])];
  try {
    const endpoint = runningEndpoint(stateDir);
    if (!endpoint) {
      throw new KmsSecretsError(`no local endpoint is running with its state in ${stateDir}`, {
        hint: 'start one in this project with npm run local (or npm run local -- --tour), and keep it running; --dir names another state folder',
      });
    }
    const projectRoot = findProjectRoot();
    const settings = loadSettings(projectRoot);
    const { env } = chooseEnv(projectRoot, settings, undefined);
    const envSettings = settings.forEnv(env);
    if (!envSettings.local) {
      throw new KmsSecretsError(`env ${env} is not local ("local": true in kms-secrets.json): its principals live on AWS, not on the local endpoint`, {
        hint: 'choose a local env with SECRETS_ENV',
      });
    }
    const identity = await identityOf(principal, env, envSettings, endpoint);
    const variables = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: envSettings.region, AWS_DEFAULT_REGION: envSettings.region, AWS_EC2_METADATA_DISABLED: 'true', ...identity.variables };
    write(`unset ${unset.join(' ')}\nexport ${Object.entries(variables).map(([name, value]) => `${name}=${shellWord(value)}`).join(' ')}\n`);
    return `acting as ${principal} of env ${env} on ${endpoint}: ${identity.description}`;
  } catch (error) {
    write(`unset ${unset.join(' ')}\n`);
    throw error;
  }
}

async function identityOf(principal: string, env: string, settings: EnvironmentSettings, endpoint: string): Promise<Identity> {
  const operator = ({ developer: ['developer', 'developer-encrypt'], deployer: ['deployer', 'deployer'], 'ci-plan': ['ciPlan', 'ci-plan'] } as const)[principal as 'developer'];
  if (operator) {
    const [setting, suffix] = operator;
    if (!settings.roles[setting]) {
      throw new KmsSecretsError(`env ${env} has no ${principal} role`, { hint: `give roles.${setting}.awsPrincipals in kms-secrets.json (e.g. the account root, arn:aws:iam::000000000000:root) and deploy` });
    }
    return assumed(endpoint, iamName(env, suffix), principal);
  }
  if (principal === 'break-glass') {
    const roles = settings.breakGlassPrincipals.filter((arn) => arn.includes(':role/'));
    if (roles.length !== 1) {
      throw new KmsSecretsError(`env ${env} has ${roles.length === 0 ? 'no break-glass role' : `${roles.length} break-glass roles`} in breakGlassPrincipals`, { hint: 'break-glass acts as the one role of breakGlassPrincipals' });
    }
    return assumed(endpoint, roles[0]!.replace(/^.*:role\/(?:.*\/)?/, ''), principal);
  }
  if (principal.startsWith('task-')) {
    const service = principal.slice('task-'.length);
    const role = settings.services[service]?.taskRole?.name ?? iamName(env, `task-${service}`);
    const cluster = settings.ecsClusterArn?.split(':cluster/')[1];
    const url = ecsTaskCredentialsUrl(endpoint, role, { cluster });
    // Asked once now, so a role that ECS may not assume is said here and not at the first command.
    const answer = await fetch(url);
    if (!answer.ok) {
      const { message } = await answer.json() as { message?: string };
      throw new KmsSecretsError(`ECS cannot hand the task role ${role} to a task of service ${service}: ${message}`, { hint: `has service ${service} a secret in secrets/${env}/${service}/, and is it deployed?` });
    }
    return { description: `an ECS task's credentials for role ${role}, from the container credentials route`, variables: { AWS_CONTAINER_CREDENTIALS_FULL_URI: url } };
  }
  if (principal === 'admin') {
    return { description: 'the account root, which deploys', variables: { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey } };
  }
  throw new KmsSecretsError(`there is no principal "${principal}"`, { hint: `act as ${PRINCIPALS}` });
}

async function assumed(endpoint: string, role: string, principal: string): Promise<Identity> {
  let credentials: Awaited<ReturnType<typeof assumeRole>>;
  try {
    credentials = await assumeRole(endpoint, role, `as-${principal}`);
  } catch (error) {
    throw new KmsSecretsError(`cannot assume role ${role}: ${(error as Error).message}`, { hint: 'is the env deployed (npm run cdktf -- deploy <env>)?' });
  }
  return { description: `role ${role} until ${credentials.expiration.toISOString()}`, variables: credentialsEnv(credentials) };
}

/** A value as one shell word: as it is when it is plain, single-quoted otherwise. */
function shellWord(value: string): string {
  return /^[\w./:=+@,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
