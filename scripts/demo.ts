/**
 * `npm run demo`: the whole system on the embedded local AWS endpoint, in a throw-away copy of the project.
 * Encrypt → real `cdktf deploy` → `kms-secrets exec` as the service's task role → the CI principal plans but
 * cannot decrypt. Secret values are random; only names, sizes and fingerprints are ever printed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { envVarName } from '../lib/naming.ts';
import { ACCOUNT_ID, ecsTaskCredentialsUrl } from '../local/index.ts';
import { iamName } from '../stacks/iam-names.ts';
import { assumeRole, credentialsEnv, LocalProject, LocalProjectError, PROJECT_ROOT, projectToolchain, requireTerraform, stepper } from './local-project.ts';
import { findProviderMirror } from './terraform-offline.ts';

const ENV = 'demo';
const SERVICE = 'api';

export interface DemoSecret {
  readonly name: string;
  readonly value: Buffer;
}

export interface DemoOptions {
  /** The values to encrypt. @default three random ones, one of them a 5,000-byte certificate */
  readonly secrets?: readonly DemoSecret[];
  /** Where the step-by-step report goes. @default stdout */
  readonly write?: (line: string) => void;
  /** Keep the throw-away project (tests scan it). @default false */
  readonly keepWorkspace?: boolean;
}

export interface DemoResult {
  readonly workspace: string;
  /** What the sample service printed: one line per variable, name, length and fingerprint. */
  readonly serviceReport: string;
  readonly ciPlanSucceeded: boolean;
  readonly ciDecryptDenied: boolean;
  readonly seconds: number;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const secrets = options.secrets ?? randomSecrets();
  const started = performance.now();
  requireTerraform('The demo');
  // The project's choice of CDK (kms-secrets.json "toolchain"), which the throw-away copy deploys with.
  const toolchain = projectToolchain();

  // Ctrl-C (or a stop) leaves nothing behind: the throw-away folder, with the endpoint's state, goes too.
  const project = await LocalProject.create({
    tempPrefix: 'kms-secrets-demo-',
    envs: [ENV],
    settings: {
      toolchain,
      defaultEnv: ENV,
      environments: { [ENV]: { local: true, forceDestroy: true, roles: { ciPlan: { awsPrincipals: [`arn:aws:iam::${ACCOUNT_ID}:root`] } } } },
    },
    keep: options.keepWorkspace,
  });
  const { root: workspace, endpoint, admin } = project;
  const steps = stepper(write, 7);
  try {
    steps.next(`Started the embedded local AWS endpoint at ${endpoint.url} (KMS, S3, IAM, STS on loopback)`);
    steps.detail(`throw-away project: ${workspace} (this repository's secrets/ is not touched)`);

    steps.next(`${toolchain} deploy ${ENV}: the KMS key and alias, the hardened bucket, the roles and policies (real Terraform${findProviderMirror() ? ', offline provider mirror' : ''})`);
    await project.deploy(ENV, admin, steps);

    steps.next(`npm run encrypt: ${secrets.length} secrets of service ${SERVICE}, values piped in, only ciphertext written`);
    for (const secret of secrets) {
      const encrypted = await project.cli(['encrypt', '--env', ENV, `${SERVICE}/${secret.name}`, '--keep-newline'], admin, secret.value);
      if (encrypted.code !== 0) throw new LocalProjectError(`encrypt ${SERVICE}/${secret.name} failed:\n${encrypted.output}`);
      steps.detail(encrypted.output.trim());
    }

    steps.next(`${toolchain} deploy ${ENV}: uploads the ciphertext files as S3 objects (Terraform never decrypts)`);
    await project.deploy(ENV, admin, steps);

    steps.next(`kms-secrets exec as an ECS task of service ${SERVICE}: the sample service starts with its secrets in its environment`);
    // As in ECS: the SDK's default chain fetches the task role's credentials from the container credentials
    // endpoint, which the local endpoint answers only for a role whose trust policy lets ECS assume it.
    const { AWS_ACCESS_KEY_ID: _key, AWS_SECRET_ACCESS_KEY: _secret, ...withoutAdminKeys } = admin;
    const task = { ...withoutAdminKeys, AWS_CONTAINER_CREDENTIALS_FULL_URI: ecsTaskCredentialsUrl(endpoint.url, iamName(ENV, `task-${SERVICE}`)) };
    const exec = await project.cli(
      ['exec', '--bucket', `kms-secrets-${ENV}-secrets`, '--env', ENV, '--service', SERVICE, '--',
        process.execPath, join(PROJECT_ROOT, 'examples', 'sample-service.mjs'), ...secrets.map((s) => envVarName(s.name))],
      task,
    );
    if (exec.code !== 0) throw new LocalProjectError(`kms-secrets exec failed:\n${exec.output}`);
    for (const line of exec.output.trim().split('\n')) steps.detail(line);

    steps.next(`The CI principal (role ${iamName(ENV, 'ci-plan')}): it can plan, it cannot decrypt`);
    const ci = { ...admin, ...credentialsEnv(await assumeRole(endpoint.url, iamName(ENV, 'ci-plan'), 'demo')) };
    steps.detail(`${toolchain} plan ${ENV} with the CI credentials: synthesizes the app, then Terraform reads back every resource`);
    const plan = await project.cdktf(['plan', ENV], ci, steps);
    const ciPlanSucceeded = plan.code === 0 && /No changes\./.test(plan.output);
    steps.detail(ciPlanSucceeded ? `${toolchain} plan ${ENV} with the CI credentials: OK, no changes` : `${toolchain} plan failed:\n${plan.output.slice(-1500)}`);
    const decrypt = await project.cli(['decrypt', '--env', ENV, `${SERVICE}/${secrets[0]!.name}`], ci);
    const ciDecryptDenied = decrypt.code !== 0 && /AccessDenied/.test(decrypt.output);
    steps.detail(`kms-secrets decrypt with the CI credentials: ${ciDecryptDenied ? 'denied, as it must be' : 'NOT denied'}`);
    for (const line of decrypt.output.trim().split('\n')) steps.detail(`  ${line}`);

    steps.next('Stopping the local endpoint and removing the throw-away project');
    const seconds = (performance.now() - started) / 1000;
    if (!ciPlanSucceeded || !ciDecryptDenied) throw new LocalProjectError('the CI principal check failed (see above)');
    write(`\nDemo finished in ${seconds.toFixed(0)} s: encrypt → deploy → exec worked, and CI can plan without decrypt rights.`);
    return { workspace, serviceReport: exec.output, ciPlanSucceeded, ciDecryptDenied, seconds };
  } finally {
    await project.close();
  }
}

function randomSecrets(): DemoSecret[] {
  const pem = (bytes: Buffer) => `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  return [
    { name: 'db-password', value: Buffer.from(randomBytes(18).toString('base64url')) },
    { name: 'stripe-key', value: Buffer.from(`sk_test_${randomBytes(24).toString('hex')}`) },
    { name: 'tls.crt', value: Buffer.from(pem(randomBytes(3600))) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await runDemo();
  } catch (error) {
    process.stderr.write(`\ndemo failed: ${error instanceof LocalProjectError ? error.message : (error as Error).stack}\n`);
    process.exitCode = 1;
  }
}
