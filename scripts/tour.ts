/**
 * `npm run local -- --tour [--dir D] [--keep]`: the local endpoint with an env to try every command by hand. It
 * makes a project (a copy of this app) whose env `tour` has every role — developer, deployer, ci-plan, the task
 * role of service `api` with one secret deployed, and a break-glass role — deploys it with the real cdktf, prints
 * the shell lines that act as each principal, and serves until Ctrl-C, which removes the project unless --keep.
 * The secret's value is made up here and never shown.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { withoutNodeVersionWarning } from '../lib/aws.ts';
import { envVarName } from '../lib/naming.ts';
import { loadSettings } from '../lib/settings.ts';
import { ACCOUNT_ID, TEST_CREDENTIALS, type StartOptions } from '../local/index.ts';
import { PLAN_FILE } from './commands/plan-check.ts';
import { LocalProject, LocalProjectError, projectToolchain, requireTerraform, stepper } from './local-project.ts';
import { findProviderMirror } from './terraform-offline.ts';

export const TOUR_ENV = 'tour';
const SERVICE = 'api';
const SECRET = 'api-key';
/** Not of the env's `kms-secrets-tour.*` names: the env's own operators may read those, and no stack manages it. */
const BREAK_GLASS_ROLE = 'tour-break-glass';

export interface TourOptions {
  /** The project folder, new or empty. @default a new temporary folder */
  readonly dir?: string;
  /** Leave the project folder when stopped. @default false */
  readonly keep?: boolean;
  /** How the endpoint listens. */
  readonly endpoint: Omit<StartOptions, 'dir'>;
  /** Where the report goes. @default stdout */
  readonly write?: (line: string) => void;
}

/** Makes and deploys the tour's project and prints how to use it; the endpoint then serves until a stop signal. */
export async function runTour(options: TourOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  requireTerraform('The tour');
  const toolchain = projectToolchain();
  const root = `arn:aws:iam::${ACCOUNT_ID}:root`;
  const project = await LocalProject.create({
    dir: options.dir,
    tempPrefix: 'kms-secrets-tour-',
    endpoint: options.endpoint,
    envs: [TOUR_ENV],
    settings: {
      toolchain,
      defaultEnv: TOUR_ENV,
      environments: {
        [TOUR_ENV]: {
          local: true,
          roles: { developer: { awsPrincipals: [root] }, deployer: { awsPrincipals: [root] }, ciPlan: { awsPrincipals: [root] } },
          breakGlassPrincipals: [`arn:aws:iam::${ACCOUNT_ID}:role/${BREAK_GLASS_ROLE}`],
        },
      },
    },
    // `npm run local -- --as …` in the project, and the sample service that exec starts.
    extraEntries: ['local', 'examples/sample-service.mjs'],
    keep: options.keep,
    afterStop: () => {
      write(options.keep ? `\nStopped the local endpoint; kept ${project.root}` : `\nStopped the local endpoint and removed ${project.root}`);
      process.exit(0);
    },
  });
  try {
    write(`Local AWS endpoint (KMS, S3, IAM, STS, SSM, Secrets Manager, ECS) on ${project.endpoint.url}`);
    write(`Tour project: ${project.root} (a copy of this app with env ${TOUR_ENV}; this repository's secrets/ is not touched)`);
    await deploy(project, write);
  } catch (error) {
    await project.close();
    throw error;
  }
  write(`\nReady in ${((performance.now() - started) / 1000).toFixed(0)} s. In another shell:\n`);
  write(usage(project));
  write(`Press Ctrl-C to stop the endpoint and ${options.keep ? 'keep' : 'remove'} ${project.root}.`);
}

async function deploy(project: LocalProject, write: (line: string) => void): Promise<void> {
  const steps = stepper(write, 3);
  steps.next(`${project.toolchain} deploy ${TOUR_ENV}: the KMS key and alias, the bucket, the developer, deployer and ci-plan roles `
    + `(real Terraform${findProviderMirror() ? ', offline provider mirror' : ''})`);
  // A key policy may name only a principal that exists: the break-glass role comes first.
  await createBreakGlassRole(project.endpoint.url);
  steps.detail(`made role ${BREAK_GLASS_ROLE}, the env's break-glass principal (breakGlassPrincipals)`);
  await project.deploy(TOUR_ENV, project.admin, steps);

  steps.next(`npm run encrypt: ${SERVICE}/${SECRET}, a value made up now (never shown)`);
  const encrypted = await project.cli(['encrypt', '--env', TOUR_ENV, `${SERVICE}/${SECRET}`], project.admin, Buffer.from(randomBytes(24).toString('base64url')));
  if (encrypted.code !== 0) throw new LocalProjectError(`encrypt ${SERVICE}/${SECRET} failed:\n${encrypted.output}`);
  steps.detail(encrypted.output.trim());

  steps.next(`${project.toolchain} deploy ${TOUR_ENV}: uploads the ciphertext and makes service ${SERVICE}'s task role`);
  await project.deploy(TOUR_ENV, project.admin, steps);
}

/** The role with nothing but a trust in the account: the key policy alone lets it decrypt. */
async function createBreakGlassRole(endpoint: string): Promise<void> {
  // IAM is only needed here, to set up: lib/aws.ts builds no IAM client.
  const iam = withoutNodeVersionWarning(() => new IAMClient({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS }));
  try {
    await iam.send(new CreateRoleCommand({
      RoleName: BREAK_GLASS_ROLE,
      Description: `break-glass: decrypts every secret of env ${TOUR_ENV}`,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole' }] }),
    }));
  } finally {
    iam.destroy();
  }
}

/** The lines to type, one block per principal, each with what it may do. */
function usage(project: LocalProject): string {
  const as = (principal: string, comment: string) => `  ${`eval "$(npm run -s local -- --as ${principal})"`.padEnd(50)} # ${comment}`;
  const secret = `${SERVICE}/${SECRET}`;
  const bucket = loadSettings(project.root).forEnv(TOUR_ENV).bucketName;
  return [
    `  cd ${project.root}`,
    '',
    as('developer', 'encrypts, never decrypts'),
    `  npm run encrypt -- --env ${TOUR_ENV} ${secret} --force     # a new value for ${secret}: type it twice`,
    `  npm run decrypt -- --env ${TOUR_ENV} ${secret}             # AccessDenied: a developer never decrypts`,
    '',
    as('deployer', 'applies ciphertext changes, nothing else'),
    `  npm run plan-check -- ${TOUR_ENV} && terraform -chdir=cdktf.out/stacks/${TOUR_ENV} apply ${PLAN_FILE}`,
    '',
    as(`task-${SERVICE}`, `what an ECS task of service ${SERVICE} gets`),
    `  npx kms-secrets exec --bucket ${bucket} --env ${TOUR_ENV} --service ${SERVICE} -- node examples/sample-service.mjs ${envVarName(SECRET)}`,
    '',
    as('ci-plan', 'plans; never writes, never decrypts'),
    `  npm run cdktf -- plan ${TOUR_ENV}`,
    '',
    as('break-glass', `decrypts any secret of ${TOUR_ENV}, for emergencies`),
    `  npm run decrypt -- --env ${TOUR_ENV} ${secret}             # its length and fingerprint; --reveal shows it`,
    '',
    as('admin', 'the account root: deploys new secrets and services'),
    `  npm run cdktf -- deploy ${TOUR_ENV}`,
    '',
  ].join('\n');
}
