/**
 * Least privilege, tried as an attacker would: two environments whose names share a prefix (demo, demo-eu)
 * deployed for real with `cdktf deploy`, then every principal of the stack — deployer, CI, developer, the
 * task roles — and principals around it (a power user of the account, ECS acting for another account, the
 * admin) each attempt what it must not do, with real requests on the local endpoint, which evaluates
 * identity, key, bucket and trust policies as AWS does. README's security model lists these rows.
 */
import {
  AttachRolePolicyCommand, CreatePolicyVersionCommand, CreateRoleCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EnableKeyRotationCommand, EncryptCommand, PutKeyPolicyCommand, ReEncryptCommand, ScheduleKeyDeletionCommand, UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../lib/aws.ts';
import { encryptSecret } from '../../lib/cipher.ts';
import { declaredListContent } from '../../lib/declared.ts';
import { ACCOUNT_ID, terraformProviderEnv, TEST_CREDENTIALS } from '../../local/index.ts';
import { runCdktf } from '../../scripts/cdktf.ts';
import { runTerraform } from '../../scripts/terraform.ts';
import { iamName } from '../../stacks/iam-names.ts';
import { EXIT_NEEDS_ADMINISTRATOR } from '../../scripts/commands/plan-check.ts';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { startEndpoint, type TestEndpoint } from '../local/support.ts';
import { runCli } from '../support/cli.ts';
import { filesContaining, marker } from '../support/markers.ts';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';
import { assumeRole, createRole, credentialsEnv, ecsTaskCredentials, ecsTaskCredentialsEnv, roleWithPolicy, type RoleCredentials } from '../support/roles.ts';
import { ciphertextObject, craftStack, crafts, planStack, type Craft } from '../support/crafted-plans.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const ROOT = `arn:aws:iam::${ACCOUNT_ID}:root`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
const readPolicyArn = (env: string, service: string) => `arn:aws:iam::${ACCOUNT_ID}:policy/${iamName(env, `read-${service}`)}`;
const BUCKET = 'kms-secrets-demo-secrets';
const EU_BUCKET = 'kms-secrets-demo-eu-secrets';
const everything = (action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
const trustAccount = (account: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' }] });
/** The encryption context of a secret, as KMS requests carry it… */
const context = (env: string, service: string, secret: string) => ({ env, service, secret });
/** …and its place, as lib/cipher takes it. */
const place = (env: string, service: string, name: string) => ({ env, service, name });
const keyPolicyNaming = (principal: string) => JSON.stringify({ Version: '2012-10-17', Statement: [
  { Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:*', Resource: '*' },
] });
const keyPolicyLetting = (account: string) => JSON.stringify({ Version: '2012-10-17', Statement: [
  { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
] });

/**
 * Names a writer might plant, one of each kind that decides how an app starts or whom it talks to; none is in
 * the loader-variable table, so only the declared list and the key policy stand between them and the app.
 */
const PLANTED: [kind: string, name: string][] = [
  ['credentials', 'aws-config-file'],
  ['credentials', 'aws-access-key-id'],
  ['endpoints', 'aws-endpoint-url-sts'],
  ['proxies and certificates', 'https-proxy'],
  ['proxies and certificates', 'ssl-cert-file'],
  ['package managers', 'npm-config-node-options'],
  ['version control', 'git-config-count'],
  ['other runtimes', 'bun-options'],
];

/** The app's own task role for demo-eu's api service, defined outside the stack (services.api.taskRole). */
const APP_ROLE = 'eu-app';
/**
 * The operator roles of both envs, each trusted by the admin so the test can act as it; demo's break-glass
 * role; demo-eu's api service read by the app's own task role instead of one the stack creates.
 */
const SETTINGS = {
  environments: Object.fromEntries(['demo', 'demo-eu'].map((env) => [env, {
    local: true,
    forceDestroy: true,
    keyAdministrators: [role('platform-admin')],
    roles: { deployer: { awsPrincipals: [ROOT] }, ciPlan: { awsPrincipals: [ROOT] }, developer: { awsPrincipals: [ROOT] } },
    ...(env === 'demo' ? { breakGlassPrincipals: [role('break-glass')] } : { services: { api: { taskRole: APP_ROLE } } }),
  }])),
};
const ecsTrust = [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT_ID } } }];

interface Principal {
  readonly credentials: RoleCredentials;
  readonly clients: AwsClients;
  readonly iam: IAMClient;
}

describeWithTerraform('least privilege, tried as an attacker with real requests after a real deploy', () => {
  let aws: TestEndpoint;
  let project: TestProject;
  let adminEnv: NodeJS.ProcessEnv;
  const as: Record<string, Principal> = {};
  const keyArn: Record<string, string> = {};
  const values = [marker('api'), marker('web'), marker('eu')];

  const principal = (credentials: RoleCredentials): Principal => ({
    credentials,
    clients: aws.clients(credentials),
    iam: new IAMClient({ endpoint: aws.endpoint.url, region: 'us-east-1', credentials }),
  });
  const envAs = (who: string) => ({ ...adminEnv, ...credentialsEnv(as[who]!.credentials) });
  const cli = (args: string[], env: NodeJS.ProcessEnv, input?: string) => runCli(args, { cwd: project.root, env, input });
  const ciphertextOf = (path: string) => readFileSync(join(project.root, 'secrets', path));
  /** A key of `who`'s own, which any principal with kms:CreateKey may make. */
  const ownKey = async (who: Principal) => (await who.clients.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  /** A developer's ciphertext of a planted name, bound to api/<name> in demo as encrypt would bind it. */
  const plantedCiphertext = async (name: string) =>
    (await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'api', name), Buffer.from(`planted ${name}`))).ciphertext;
  /** The environment of a process that gets its credentials as an ECS task of `service` in demo would. */
  const asEcsTask = (service: string, taskRole = iamName('demo', `task-${service}`)) => ({
    ...envWithoutAws({ AWS_ENDPOINT_URL: aws.endpoint.url, AWS_REGION: 'us-east-1' }),
    ...ecsTaskCredentialsEnv(aws.endpoint.url, taskRole),
  });

  beforeAll(async () => {
    aws = await startEndpoint();
    // The first deploy is an administrator's: it creates the key, the roles and a placeholder object per service.
    const fixtureKey = (await aws.clients().kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    project = makeProject({ app: true, settings: SETTINGS });
    for (const [env, service, name] of [['demo', 'api', 'db-password'], ['demo', 'web', 'session-key'], ['demo-eu', 'api', 'db-password']] as const) {
      const { ciphertext } = await encryptSecret(aws.clients().kms, fixtureKey, { env, service, name }, Buffer.from('placeholder'));
      project.write(`secrets/${env}/${service}/${name}`, ciphertext);
    }
    adminEnv = envWithoutAws(terraformProviderEnv(aws.endpoint.url));
    // A break-glass principal must exist before a key policy may name it.
    as['demo break-glass'] = principal(await roleWithPolicy(aws.endpoint.url, 'break-glass', [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }]));
    // The app's own role exists before the stack attaches the read policy to it, with the app's other rights.
    await createRole(aws.endpoint.url, APP_ROLE, ecsTrust, [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }]);
    // Two administrators with every IAM right: the settings name one, who deploys.
    as['demo key administrator (keyAdministrators)'] = principal(await roleWithPolicy(aws.endpoint.url, 'platform-admin', [{ Effect: 'Allow', Action: '*', Resource: '*' }]));
    as['an administrator not named (every IAM right)'] = principal(await roleWithPolicy(aws.endpoint.url, 'other-admin', [{ Effect: 'Allow', Action: '*', Resource: '*' }]));
    const deploy = await runCdktf(project.root, ['deploy', 'demo', 'demo-eu', '--auto-approve'], envAs('demo key administrator (keyAdministrators)'));
    expect(deploy.code, deploy.output).toBe(0);

    for (const env of ['demo', 'demo-eu']) {
      keyArn[env] = (await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: `alias/kms-secrets/${env}` }))).KeyMetadata!.Arn!;
      for (const operator of ['deployer', 'ci-plan', 'developer-encrypt']) {
        as[`${env} ${operator}`] = principal(await assumeRole(aws.endpoint.url, iamName(env, operator)));
      }
    }
    for (const service of ['api', 'web']) as[`demo task-${service}`] = principal(await ecsTaskCredentials(aws.endpoint.url, iamName('demo', `task-${service}`)));
    as['power user'] = principal(await roleWithPolicy(aws.endpoint.url, 'power-user', [{ Effect: 'Allow', Action: ['kms:*', 's3:*', 'iam:Get*'], Resource: '*' }]));
    as['demo-eu app role (services.api.taskRole)'] = principal(await ecsTaskCredentials(aws.endpoint.url, APP_ROLE));
    // Someone with IAM rights attaches demo-eu's read policy to a role the settings do not name.
    await createRole(aws.endpoint.url, 'stowaway', ecsTrust, []);
    const adminIam = new IAMClient({ endpoint: aws.endpoint.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
    await adminIam.send(new AttachRolePolicyCommand({ RoleName: 'stowaway', PolicyArn: readPolicyArn('demo-eu', 'api') }));
    adminIam.destroy();
    as['a role with demo-eu\'s api read policy attached, not named in the settings'] = principal(await ecsTaskCredentials(aws.endpoint.url, 'stowaway'));
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(async () => {
    project?.remove();
    await aws?.close();
  });

  describe('the deployer changes ciphertext, nothing else', () => {
    it('a developer rotates the secrets with encrypt --force: encrypt is all a developer may do', async () => {
      const runs = [
        await cli(['encrypt', '--env', 'demo', 'api/db-password', '--force'], envAs('demo developer-encrypt'), values[0]),
        await cli(['encrypt', '--env', 'demo', 'web/session-key', '--force'], envAs('demo developer-encrypt'), values[1]),
        await cli(['encrypt', '--env', 'demo-eu', 'api/db-password', '--force'], envAs('demo-eu developer-encrypt'), values[2]),
      ];
      expect(runs.map((run) => run.code), runs.map((run) => run.stderr).join('')).toEqual([0, 0, 0]);
    });

    it('plan-check says only ciphertext objects change, and the deployer applies exactly that saved plan', async () => {
      const check = await cli(['plan-check', 'demo'], envAs('demo deployer'));
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toBe('plan-check demo: only ciphertext objects change (0 to add, 2 to change, 0 to destroy): the deployer can apply this plan\n'
        + '  apply it with: terraform -chdir=cdktf.out/stacks/demo apply plan.tfplan\n');

      const before = aws.endpoint.requests().length;
      const apply = await runTerraformAs(project.root, 'demo', ['apply', '-input=false', 'plan.tfplan'], envAs('demo deployer'));
      expect(apply.code, apply.output).toBe(0);
      expect(apply.output).toMatch(/Apply complete! Resources: 0 added, 2 changed, 0 destroyed/);
      const asDeployer = aws.endpoint.requests().slice(before).filter((r) => r.accessKeyId === as['demo deployer']!.credentials.accessKeyId);
      expect(asDeployer.filter((r) => r.error)).toEqual([]);
    }, TERRAFORM_TIMEOUT_MS);

    it('the task role now starts its app with the rotated secret', async () => {
      const run = await cli(['exec', '--bucket', BUCKET, '--env', 'demo', '--service', 'api', '--', process.execPath, '-e', 'process.exit(process.env.DB_PASSWORD.length)'],
        asEcsTask('api'));
      expect(run.code, run.stderr).toBe(values[0]!.length);
    });

    it('plan-check says a new service (a task role, its policy, the key policy) needs an administrator, and the deployer cannot apply it', async () => {
      const { ciphertext } = await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'billing', 'token'), Buffer.from('x'));
      project.write('secrets/demo/billing/token', ciphertext);
      try {
        const check = await cli(['plan-check', 'demo'], envAs('demo deployer'));
        expect(check.code, check.stderr).toBe(EXIT_NEEDS_ADMINISTRATOR);
        expect(check.stdout).toMatch(/^plan-check demo: this plan changes more than ciphertext objects, so an administrator must apply it/);
        expect(check.stdout).toMatch(/^ {2}aws_iam_role\.service-billing_role_\w+ \(create\)/m);
        expect(check.stdout).toMatch(/^ {2}aws_kms_key_policy\.key_policy_\w+ \(update\)/m);
        expect(check.stdout).toMatch(/^ {2}aws_s3_object\.declared_billing_\w+ \(create\): service billing is new, with the variables TOKEN$/m);

        const apply = await runTerraformAs(project.root, 'demo', ['apply', '-input=false', 'plan.tfplan'], envAs('demo deployer'));
        expect(apply.code).not.toBe(0);
        expect(apply.output).toMatch(/AccessDenied[\s\S]*iam:CreateRole/);
      } finally {
        rmSync(join(project.root, 'secrets/demo/billing'), { recursive: true });
      }
    }, TERRAFORM_TIMEOUT_MS);
  });

  it('the app\'s own task role (demo-eu, services.api.taskRole) starts its app with its service\'s rotated secret', async () => {
    // What the deployer's apply of the rotation uploads.
    await as['demo-eu deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: EU_BUCKET, Key: 'api/db-password', Body: ciphertextOf('demo-eu/api/db-password'), ServerSideEncryption: 'AES256' }));
    const run = await cli(['exec', '--bucket', EU_BUCKET, '--env', 'demo-eu', '--service', 'api', '--', process.execPath, '-e', 'process.exit(process.env.DB_PASSWORD.length)'],
      asEcsTask('api', APP_ROLE));
    expect(run.code, run.stderr).toBe(values[2]!.length);
  });

  describe('plan-check approves ciphertext uploads and nothing else: crafted plans of the deployed stack, planned by Terraform', () => {
    /**
     * Each craft is one thing the deployer must never apply. They share one plan (a Terraform plan costs the
     * suite ten seconds of CPU): plan-check lists every reason of every change, one line each, so each craft must
     * show its own line. Crafts on one object touch different attributes; lib/plan-verdict checks each attribute.
     * They apply in order: the bucket craft finds api/db-password by its key, which the next craft renames.
     */
    const CRAFTS = [
      ['a local-exec provisioner on the rotated object', crafts.provisioner('echo ran', 'web/session-key'), /^ {2}aws_s3_object\.\S*web_session-key\S* \(update\): the configuration gives it a local-exec provisioner/m],
      ['an object that cannot be read back (storage class)', (stack: Parameters<Craft>[0]) => { ciphertextObject(stack, 'web/session-key').storage_class = 'GLACIER'; }, /^ {2}aws_s3_object\.\S*web_session-key\S* \(update\): storage_class is "GLACIER", not STANDARD/m],
      ['the object uploaded from demo-eu\'s state file', crafts.foreignSource('state/demo-eu.tfstate', 'web/session-key'), /^ {2}aws_s3_object\.\S*web_session-key\S* \(update\): source \.\.\/\.\.\/\.\.\/state\/demo-eu\.tfstate is not secrets\/demo\/web\/session-key/m],
      ['the object written to demo-eu\'s bucket', crafts.foreignBucket(EU_BUCKET, 'api/db-password'), /^ {2}aws_s3_object\.\S*api_db-password\S* \(replace\): bucket kms-secrets-demo-eu-secrets is not kms-secrets-demo-secrets/m],
      ['the object under a refused name', crafts.key('api/node-options', 'api/db-password'), /^ {2}aws_s3_object\.\S*api_db-password\S* \(replace\): key api\/node-options: NODE_OPTIONS changes how programs start/m],
      ['a removed block that forgets the key policy', crafts.removed('aws_kms_key_policy'), /^ {2}aws_kms_key_policy\.\w+ \(forget\): a removed block takes it out of Terraform's state/m],
      ['a CA bundle of its own for the provider', crafts.providerSetting('custom_ca_bundle', '/etc/ssl/certs/ca-certificates.crt'), /^ {2}provider aws \(configured\): it sets custom_ca_bundle, which the stack never sets/m],
    ] as const;
    let crafted: { code: number | null; stdout: string; stderr: string; planOutput: string };

    beforeAll(async () => {
      // A rotation of web's secret for the crafts to ride on: a provisioner runs only on a change of its object.
      const synth = await runCdktf(project.root, ['synth'], adminEnv);
      expect(synth.code, synth.output).toBe(0);
      project.write('secrets/demo/web/session-key', (await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'web', 'session-key'), Buffer.from(values[1]!))).ciphertext);

      const restore = craftStack(project.root, 'demo', (stack) => CRAFTS.forEach(([, craft]) => craft(stack)));
      try {
        // With a refresh: the state may claim more than AWS holds (a refused apply above left planned values in it).
        const { planFile, output } = await planStack(project.root, 'demo', envAs('demo deployer'));
        crafted = { ...(await cli(['plan-check', 'demo', '--plan', planFile], envAs('demo deployer'))), planOutput: output };
      } finally {
        restore();
      }
    }, TERRAFORM_TIMEOUT_MS);

    it('exit 3 for the crafted plan', () => {
      expect(crafted.code, `${crafted.stdout}${crafted.stderr}${crafted.planOutput}`).toBe(EXIT_NEEDS_ADMINISTRATOR);
    });

    it.each(CRAFTS)('names %s', (_name, _craft, reason) => {
      expect(crafted.stdout).toMatch(reason);
    });

    it('exit 1 for a plan Terraform could not finish (errored), never "no changes"', async () => {
      // The developer may read nothing of the stack: its refresh fails, and Terraform saves the plan as errored.
      const { code, planFile } = await planStack(project.root, 'demo', envAs('demo developer-encrypt'));
      expect(code).not.toBe(0);
      const check = await cli(['plan-check', 'demo', '--plan', planFile], envAs('demo deployer'));
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(/errored/);
      expect(check.stdout).toBe('');
    }, TERRAFORM_TIMEOUT_MS);

    it('exit 0 for the rotation itself, planned as the crafts were: the crafts are what plan-check refuses', async () => {
      const { planFile, output } = await planStack(project.root, 'demo', envAs('demo deployer'));
      const check = await cli(['plan-check', 'demo', '--plan', planFile], envAs('demo deployer'));
      expect(check.code, check.stdout + check.stderr + output).toBe(0);
      expect(check.stdout).toMatch(/only ciphertext objects change \(0 to add, 1 to change, 0 to destroy\)/);
    }, TERRAFORM_TIMEOUT_MS);
  });

  describe('a name nobody declared never reaches the app: the writer chooses values, an administrator names them', () => {
    it('plan-check names the variable a new secret would add, and sends it to an administrator, also after the deployer\'s refused apply', async () => {
      const { ciphertext } = await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'api', 'aws-config-file'), Buffer.from('/proc/self/environ'));
      project.write('secrets/demo/api/aws-config-file', ciphertext);
      try {
        const check = await cli(['plan-check', 'demo'], envAs('demo deployer'));
        expect(check.code, check.stderr).toBe(EXIT_NEEDS_ADMINISTRATOR);
        expect(check.stdout).toMatch(/^ {2}aws_s3_object\.declared_api_\w+ \(update\): service api gains the variable AWS_CONFIG_FILE$/m);
        expect(check.stdout).toMatch(/^ {2}aws_kms_key_policy\.key_policy_\w+ \(update\)/m);

        // Applied anyway, the deployer may neither declare the name nor let a task role decrypt it.
        const apply = await runTerraformAs(project.root, 'demo', ['apply', '-input=false', 'plan.tfplan'], envAs('demo deployer'));
        expect(apply.code).not.toBe(0);
        expect(apply.output).toMatch(/AccessDenied[\s\S]*(kms:PutKeyPolicy|\.declared\/api\.json)/);

        // The refused update left the planned list in the state; the etag a refresh reads back says it is not in the
        // bucket, so the next plan still sends it to an administrator, naming the variable, rather than taking it for done.
        const after = await cli(['plan-check', 'demo'], envAs('demo deployer'));
        expect(after.code, after.stderr).toBe(EXIT_NEEDS_ADMINISTRATOR);
        expect(after.stdout).toMatch(/^ {2}aws_s3_object\.declared_api_\w+ \(update\): the state's declared list of service api is not the one in the bucket .*; this plan writes one with the variables .*AWS_CONFIG_FILE/m);
        expect(after.stdout).toMatch(/^ {2}aws_s3_object\.\S+ \(create\): api\/aws-config-file cannot be checked against its service's declared names/m);
      } finally {
        rmSync(join(project.root, 'secrets/demo/api/aws-config-file'));
      }
    }, TERRAFORM_TIMEOUT_MS);

    it('exec refuses every planted name by name, before any of them is decrypted, and starts nothing', async () => {
      for (const [, name] of PLANTED) {
        await as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `api/${name}`, Body: await plantedCiphertext(name), ServerSideEncryption: 'AES256' }));
      }
      const before = aws.endpoint.requests().length;
      const run = await cli(['exec', '--bucket', BUCKET, '--env', 'demo', '--service', 'api', '--', process.execPath, '-e', 'require("node:fs").writeFileSync(process.argv[1], "ran")', join(project.root, 'ran')],
        asEcsTask('api'));
      expect(run.code).toBe(EXIT_NOT_LOADED);
      expect(existsSync(join(project.root, 'ran'))).toBe(false);
      for (const [, name] of PLANTED) expect(run.stderr).toMatch(new RegExp(`^kms-secrets: api/${name}: not declared \\(service api declares no secret ${name} `, 'm'));
      const decrypts = aws.endpoint.requests().slice(before).filter((r) => r.operation === 'Decrypt');
      expect(decrypts.length, 'only the declared secret was decrypted').toBeLessThanOrEqual(1);
    });
  });

  describe('a loader variable planted by a developer never reaches the app', () => {
    const planted = 'secrets/demo/api/node-options';

    it('is refused by encrypt, before the value is read', async () => {
      const run = await cli(['encrypt', '--env', 'demo', 'api/node-options'], envAs('demo developer-encrypt'), '--import=data:text/javascript,x');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/NODE_OPTIONS changes how programs start/);
    });

    it('is refused by verify and by synth when encrypted by hand and committed', async () => {
      const { ciphertext } = await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'api', 'node-options'), Buffer.from('--require=/tmp/x.js'));
      project.write(planted, ciphertext);
      try {
        const verify = await cli(['verify'], adminEnv);
        const synth = await runCdktf(project.root, ['synth'], adminEnv);
        expect(verify.code).toBe(1);
        expect(verify.stderr).toMatch(/secrets\/demo\/api\/node-options: NODE_OPTIONS changes how programs start/);
        expect(synth.code).not.toBe(0);
        expect(synth.output).toMatch(/secrets\/demo\/api\/node-options: NODE_OPTIONS changes how programs start/);
      } finally {
        rmSync(join(project.root, planted));
      }
    }, TERRAFORM_TIMEOUT_MS);

    it('is refused by exec when put in the bucket directly, past git', async () => {
      const { ciphertext } = await encryptSecret(as['demo developer-encrypt']!.clients.kms, 'alias/kms-secrets/demo', place('demo', 'api', 'node-options'), Buffer.from('--require=/tmp/x.js'));
      await as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'api/node-options', Body: ciphertext, ServerSideEncryption: 'AES256' }));
      const run = await cli(['exec', '--bucket', BUCKET, '--env', 'demo', '--service', 'api', '--', process.execPath, '-e', ''],
        asEcsTask('api'));
      expect(run.code).toBe(EXIT_NOT_LOADED);
      expect(run.stderr).toMatch(/^kms-secrets: api\/node-options: loader variable \(NODE_OPTIONS/m);
    });
  });

  /** [principal, attempt, expected, the request]: each a real request, its outcome asserted. */
  type MatrixRow = [who: string, attempt: string, expected: 'allowed' | 'denied', request: () => Promise<unknown>];
  const matrix: MatrixRow[] = [
    // The deployer: ciphertext objects only.
    ['demo deployer', 'puts a ciphertext object (with SSE-S3)', 'allowed',
      () => as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'api/extra', Body: ciphertextOf('demo/api/db-password'), ServerSideEncryption: 'AES256' }))],
    ['demo deployer', 'puts an object without SSE-S3 (bucket policy)', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'api/plain', Body: 'x' }))],
    ['demo deployer', 'creates a role of the env (kms-secrets-demo.backdoor)', 'denied',
      () => as['demo deployer']!.iam.send(new CreateRoleCommand({ RoleName: 'kms-secrets-demo.backdoor', AssumeRolePolicyDocument: trustAccount('999999999999') }))],
    ['demo deployer', 'creates any other role', 'denied',
      () => as['demo deployer']!.iam.send(new CreateRoleCommand({ RoleName: 'backdoor', AssumeRolePolicyDocument: trustAccount('999999999999') }))],
    ['demo deployer', 'gives its own role "Action": "*"', 'denied',
      () => as['demo deployer']!.iam.send(new PutRolePolicyCommand({ RoleName: 'kms-secrets-demo.deployer', PolicyName: 'all', PolicyDocument: everything('*') }))],
    ['demo deployer', 'makes a task role trust another account', 'denied',
      () => as['demo deployer']!.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'kms-secrets-demo.task-api', PolicyDocument: trustAccount('999999999999') }))],
    ['demo deployer', 'sets a new default version of the developer policy that allows Decrypt', 'denied',
      () => as['demo deployer']!.iam.send(new CreatePolicyVersionCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/kms-secrets-demo.developer-encrypt`, PolicyDocument: everything('kms:Decrypt'), SetAsDefault: true }))],
    ['demo deployer', 'puts a key policy that lets another account decrypt', 'denied',
      () => as['demo deployer']!.clients.kms.send(new PutKeyPolicyCommand({ KeyId: keyArn.demo!, PolicyName: 'default', Policy: keyPolicyLetting('999999999999') }))],
    ['demo deployer', 'creates a key of its own', 'denied', () => as['demo deployer']!.clients.kms.send(new CreateKeyCommand({}))],
    ['demo deployer', 'points the env\'s alias at another key', 'denied',
      () => as['demo deployer']!.clients.kms.send(new UpdateAliasCommand({ AliasName: 'alias/kms-secrets/demo', TargetKeyId: keyArn['demo-eu']! }))],
    ['demo deployer', 'replaces the bucket policy', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }))],
    ['demo deployer', 'suspends versioning', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Suspended' } }))],
    ['demo deployer', 'decrypts a secret', 'denied',
      () => as['demo deployer']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['demo deployer', 'puts a declared list (its policy, the bucket policy)', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: '.declared/api.json', Body: '{}', ServerSideEncryption: 'AES256' }))],
    ['demo deployer', 'puts an object under a service nobody declared', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'billing/token', Body: ciphertextOf('demo/api/db-password'), ServerSideEncryption: 'AES256' }))],
    // A writer's planted names, one of each kind: the key policy decrypts declared names only.
    ...PLANTED.map(([kind, name]): MatrixRow => ['demo task-api', `decrypts a planted ${name} (${kind}; not declared)`, 'denied',
      async () => as['demo task-api']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: await plantedCiphertext(name), EncryptionContext: context('demo', 'api', name) }))]),
    // CI: reads what a plan reads, nothing else.
    ['demo ci-plan', 'reads a task role (what a plan refreshes)', 'allowed', () => as['demo ci-plan']!.iam.send(new GetRoleCommand({ RoleName: 'kms-secrets-demo.task-api' }))],
    ['demo ci-plan', 'decrypts a secret', 'denied',
      () => as['demo ci-plan']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['demo ci-plan', 'puts an object', 'denied',
      () => as['demo ci-plan']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'api/ci', Body: 'x', ServerSideEncryption: 'AES256' }))],
    ['demo ci-plan', 'changes a task role\'s policy', 'denied',
      () => as['demo ci-plan']!.iam.send(new PutRolePolicyCommand({ RoleName: 'kms-secrets-demo.task-api', PolicyName: 'all', PolicyDocument: everything('*') }))],
    // Developers: write-only.
    ['demo developer-encrypt', 'encrypts for its env', 'allowed',
      () => as['demo developer-encrypt']!.clients.kms.send(new EncryptCommand({ KeyId: 'alias/kms-secrets/demo', Plaintext: Buffer.from('x'), EncryptionContext: context('demo', 'api', 'new') }))],
    ['demo developer-encrypt', 'decrypts a secret it wrote', 'denied',
      () => as['demo developer-encrypt']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['demo developer-encrypt', 'encrypts without an encryption context', 'denied',
      () => as['demo developer-encrypt']!.clients.kms.send(new EncryptCommand({ KeyId: 'alias/kms-secrets/demo', Plaintext: Buffer.from('x') }))],
    ['demo developer-encrypt', 'reads an object', 'denied', () => as['demo developer-encrypt']!.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'api/db-password' }))],
    // Task roles: their own service only.
    ['demo task-api', 'decrypts its own secret', 'allowed',
      () => as['demo task-api']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['demo task-api', 'decrypts without the encryption context', 'denied',
      () => as['demo task-api']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password') }))],
    ['demo task-api', 'reads another service\'s object', 'denied', () => as['demo task-api']!.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'web/session-key' }))],
    ['demo task-api', 'lists another service\'s prefix', 'denied', () => as['demo task-api']!.clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'web/' }))],
    ['demo task-api', 'decrypts another service\'s ciphertext (copied to it)', 'denied',
      () => as['demo task-api']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/web/session-key'), EncryptionContext: context('demo', 'web', 'session-key') }))],
    ['demo task-web', 'decrypts the api service\'s secret', 'denied',
      () => as['demo task-web']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['demo task-api', 'encrypts', 'denied',
      () => as['demo task-api']!.clients.kms.send(new EncryptCommand({ KeyId: keyArn.demo!, Plaintext: Buffer.from('x'), EncryptionContext: context('demo', 'api', 'x') }))],
    // The app's own task role (demo-eu, services.api.taskRole): its service only, through the attached read policy.
    ['demo-eu app role (services.api.taskRole)', 'decrypts its service\'s secret', 'allowed',
      () => as['demo-eu app role (services.api.taskRole)']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo-eu/api/db-password'), EncryptionContext: context('demo-eu', 'api', 'db-password') }))],
    ['demo-eu app role (services.api.taskRole)', 'lists its service\'s prefix', 'allowed',
      () => as['demo-eu app role (services.api.taskRole)']!.clients.s3.send(new ListObjectsV2Command({ Bucket: EU_BUCKET, Prefix: 'api/' }))],
    ['demo-eu app role (services.api.taskRole)', 'reads demo\'s api object', 'denied',
      () => as['demo-eu app role (services.api.taskRole)']!.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'api/db-password' }))],
    ['demo-eu app role (services.api.taskRole)', 'decrypts demo\'s api secret', 'denied',
      () => as['demo-eu app role (services.api.taskRole)']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['a role with demo-eu\'s api read policy attached, not named in the settings', 'decrypts the api secret (key policy)', 'denied',
      () => as['a role with demo-eu\'s api read policy attached, not named in the settings']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo-eu/api/db-password'), EncryptionContext: context('demo-eu', 'api', 'db-password') }))],
    ['demo-eu deployer', 'attaches the api read policy to its own role', 'denied',
      () => as['demo-eu deployer']!.iam.send(new AttachRolePolicyCommand({ RoleName: 'kms-secrets-demo-eu.deployer', PolicyArn: readPolicyArn('demo-eu', 'api') }))],
    ['demo deployer', 'attaches the api read policy to a role outside the stack', 'denied',
      () => as['demo deployer']!.iam.send(new AttachRolePolicyCommand({ RoleName: 'stowaway', PolicyArn: readPolicyArn('demo', 'api') }))],
    // Across envs whose names share a prefix.
    ['demo deployer', 'rewrites the demo-eu deployer\'s policy', 'denied',
      () => as['demo deployer']!.iam.send(new PutRolePolicyCommand({ RoleName: 'kms-secrets-demo-eu.deployer', PolicyName: 'all', PolicyDocument: everything('*') }))],
    ['demo deployer', 'puts an object in demo-eu\'s bucket', 'denied',
      () => as['demo deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: EU_BUCKET, Key: 'api/db-password', Body: 'x', ServerSideEncryption: 'AES256' }))],
    ['demo ci-plan', 'reads demo-eu\'s task role', 'denied', () => as['demo ci-plan']!.iam.send(new GetRoleCommand({ RoleName: 'kms-secrets-demo-eu.task-api' }))],
    ['demo task-api', 'decrypts demo-eu\'s api secret', 'denied',
      () => as['demo task-api']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo-eu/api/db-password'), EncryptionContext: context('demo-eu', 'api', 'db-password') }))],
    ['demo-eu deployer', 'puts an object in demo\'s bucket', 'denied',
      () => as['demo-eu deployer']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'api/db-password', Body: 'x', ServerSideEncryption: 'AES256' }))],
    ['demo developer-encrypt', 'encrypts for demo-eu', 'denied',
      () => as['demo developer-encrypt']!.clients.kms.send(new EncryptCommand({ KeyId: 'alias/kms-secrets/demo-eu', Plaintext: Buffer.from('x'), EncryptionContext: context('demo-eu', 'api', 'x') }))],
    // Around the stack: the account's own principals and ECS.
    ['power user (every KMS and S3 action)', 'reads the api object', 'allowed', () => as['power user']!.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'api/db-password' }))],
    ['power user (every KMS and S3 action)', 'decrypts it (key policy)', 'denied',
      () => as['power user']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['power user (every KMS and S3 action)', 're-encrypts it under a key of its own (key policy)', 'denied',
      () => as['power user']!.clients.kms.send(new ReEncryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), SourceEncryptionContext: context('demo', 'api', 'db-password'), DestinationKeyId: keyArn['demo-eu']!, DestinationEncryptionContext: context('demo-eu', 'api', 'db-password') }))],
    ['power user (every KMS and S3 action)', 'puts a key policy that names itself (key policy)', 'denied',
      () => as['power user']!.clients.kms.send(new PutKeyPolicyCommand({ KeyId: keyArn.demo!, PolicyName: 'default', Policy: keyPolicyNaming(role('power-user')) }))],
    ['power user (every KMS and S3 action)', 'points the env\'s alias at a key of its own (key policy)', 'denied',
      async () => as['power user']!.clients.kms.send(new UpdateAliasCommand({ AliasName: 'alias/kms-secrets/demo', TargetKeyId: await ownKey(as['power user']!) }))],
    ['power user (every KMS and S3 action)', 'declares NODE_OPTIONS in a declared list (bucket policy)', 'denied',
      () => as['power user']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: '.declared/api.json', Body: declaredListContent({ env: 'demo', service: 'api', secrets: ['db-password', 'node-options'], keyArn: keyArn.demo! }), ServerSideEncryption: 'AES256' }))],
    // Administration by name: IAM's "*" is not enough.
    ['demo key administrator (keyAdministrators)', 'enables key rotation (key policy)', 'allowed',
      () => as['demo key administrator (keyAdministrators)']!.clients.kms.send(new EnableKeyRotationCommand({ KeyId: keyArn.demo! }))],
    ['demo key administrator (keyAdministrators)', 'decrypts a secret (key policy)', 'denied',
      () => as['demo key administrator (keyAdministrators)']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['an administrator not named (every IAM right)', 'puts a key policy that names itself (key policy)', 'denied',
      () => as['an administrator not named (every IAM right)']!.clients.kms.send(new PutKeyPolicyCommand({ KeyId: keyArn.demo!, PolicyName: 'default', Policy: keyPolicyNaming(role('other-admin')) }))],
    ['an administrator not named (every IAM right)', 'schedules the key\'s deletion (key policy)', 'denied',
      () => as['an administrator not named (every IAM right)']!.clients.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn.demo!, PendingWindowInDays: 7 }))],
    ['an administrator not named (every IAM right)', 'declares NODE_OPTIONS in a declared list (bucket policy)', 'denied',
      () => as['an administrator not named (every IAM right)']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: '.declared/api.json', Body: declaredListContent({ env: 'demo', service: 'api', secrets: ['db-password', 'node-options'], keyArn: keyArn.demo! }), ServerSideEncryption: 'AES256' }))],
    ['power user (every KMS and S3 action)', 'replaces the bucket policy (bucket policy)', 'denied',
      () => as['power user']!.clients.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: role('power-user') }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*` }] }) }))],
    ['power user (every KMS and S3 action)', 'puts an object under a service nobody declared (bucket policy)', 'denied',
      () => as['power user']!.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'billing/token', Body: 'x', ServerSideEncryption: 'AES256' }))],
    ['demo break-glass', 'decrypts any service\'s secret of demo (key policy)', 'allowed',
      () => as['demo break-glass']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/web/session-key'), EncryptionContext: context('demo', 'web', 'session-key') }))],
    ['demo break-glass', 'decrypts demo-eu\'s secret', 'denied',
      () => as['demo break-glass']!.clients.kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo-eu/api/db-password'), EncryptionContext: context('demo-eu', 'api', 'db-password') }))],
    ['admin (the account root)', 'decrypts a secret (key policy)', 'denied',
      () => aws.clients().kms.send(new DecryptCommand({ CiphertextBlob: ciphertextOf('demo/api/db-password'), EncryptionContext: context('demo', 'api', 'db-password') }))],
    ['admin (the account root)', 'assumes a task role (trust policy)', 'denied',
      async () => (await aws.clients().sts()).send(new AssumeRoleCommand({ RoleArn: role('kms-secrets-demo.task-api'), RoleSessionName: 'admin' }))],
    ['ECS, for a task of this account', 'hands out the api task role', 'allowed', () => ecsTaskCredentials(aws.endpoint.url, 'kms-secrets-demo.task-api')],
    ['ECS, for a task of another account', 'hands out the api task role (aws:SourceAccount)', 'denied',
      () => ecsTaskCredentials(aws.endpoint.url, 'kms-secrets-demo.task-api', { account: '999999999999' })],
  ];

  describe('the escalation matrix', () => {
    it.each(matrix)('%s %s: %s', async (_who, _attempt, expected, request) => {
      const outcome = await request().then(() => 'allowed', (error: Error) => {
        expect(`${error.name}: ${error.message}`).toMatch(/AccessDenied|not authorized/);
        return 'denied';
      });
      expect(outcome).toBe(expected);
    });

    it('README\'s security model lists every row of it', () => {
      const readme = readFileSync(join(REPO_ROOT, 'docs', 'security.md'), 'utf8');
      const missing = matrix.filter(([who, attempt, expected]) => !readme.includes(`| ${who} | ${attempt} | ${expected} |`));
      expect(missing.map(([who, attempt]) => `${who} ${attempt}`)).toEqual([]);
    });
  });

  it('no secret value reached the state, the synthesized files or the endpoint\'s state', () => {
    expect(filesContaining([project.root, aws.dir], values[0]!)).toEqual([]);
    expect(filesContaining([project.root, aws.dir], values[1]!)).toEqual([]);
  });
});

/** `terraform <args>` in the env's stack folder, as CI runs it after plan-check, with the given credentials. */
async function runTerraformAs(projectRoot: string, env: string, args: string[], processEnv: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  const run = await runTerraform(projectRoot, join(projectRoot, 'cdktf.out', 'stacks', env), args, { output: 'capture', env: processEnv });
  return { code: run.code, output: `${run.stdout}${run.stderr}` };
}
