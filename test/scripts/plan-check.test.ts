/**
 * `kms-secrets plan-check` reading a plan it is given (the path without planning): the verdict on stdout, the
 * exit code CI acts on, and clear errors for what it cannot use — with crafted JSON, and with plans saved by
 * the real Terraform from a hand-written stack offline. Planning for real after a real deploy, as the deployer,
 * is tried in test/terraform/escalation.test.ts.
 */
import { readFileSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTerraform } from '../../scripts/terraform.ts';
import { runCli } from '../support/cli.ts';
import { crafts, craftStack, planStack, stackDirOf } from '../support/crafted-plans.ts';
import { ciphertextValues, declaredListValues, md5, objectValues, planJson, type Change } from '../support/plan-json.ts';
import { makeProject, type TestProject } from '../support/project.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const BUCKET = 'kms-secrets-staging-secrets';
const TOKEN = Buffer.from('ciphertext of api/token');
const WEB_KEY = Buffer.from('ciphertext of web/session-key');
const API_LIST = 'aws_s3_object.declared_api_5E1B2C3D';
const prior = {
  [API_LIST]: declaredListValues('staging', 'api', ['token']),
  'aws_s3_object.declared_web_6F7A8B9C': declaredListValues('staging', 'web', ['session-key']),
};
const rotateToken: Change = {
  address: 'aws_s3_object.objects_api_token_1', actions: ['update'],
  before: { ...ciphertextValues('staging', 'api/token', TOKEN), etag: md5('before') }, after: ciphertextValues('staging', 'api/token', TOKEN),
};
const createWebKey: Change = { address: 'aws_s3_object.objects_web_session-key_2', actions: ['create'], after: ciphertextValues('staging', 'web/session-key', WEB_KEY) };

let project: TestProject;
const newProject = () => makeProject({ files: { 'secrets/staging/api/token': TOKEN, 'secrets/staging/web/session-key': WEB_KEY, 'state/production.tfstate': '{}' } });
const check = (args: string[]) => runCli(['plan-check', ...args], { cwd: project.root });
const checkJson = (plan: unknown) => {
  project.write('plan.json', JSON.stringify(plan));
  return check(['staging', '--plan', 'plan.json']);
};

describe('plan-check --plan FILE (JSON)', () => {
  afterEach(() => project?.remove());

  it('exit 0: only declared ciphertext objects are uploaded from their own files, so the deployer may apply', async () => {
    project = newProject();
    const run = await checkJson(planJson({ prior, changes: [rotateToken, createWebKey, { address: 'aws_kms_key.key_3', actions: ['no-op'] }] }));

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('plan-check staging: only ciphertext objects change (1 to add, 1 to change, 0 to destroy): the deployer can apply this plan\n');
  });

  it('exit 3: a role, a key policy and a new service\'s list change, so an administrator must apply; each change is named', async () => {
    project = newProject();
    const run = await checkJson(planJson({
      prior,
      changes: [
        { address: 'aws_iam_role.service-billing_role_1', actions: ['create'] },
        { address: 'aws_kms_key_policy.key_policy_2', actions: ['update'] },
        { address: 'aws_s3_object.declared_billing_3', actions: ['create'], after: declaredListValues('staging', 'billing', ['token']) },
        createWebKey,
      ],
    }));

    expect(run.code).toBe(3);
    expect(run.stdout).toBe('plan-check staging: this plan changes more than ciphertext objects, so an administrator must apply it; the deployer may only upload the env\'s declared ciphertext files:\n'
      + '  aws_iam_role.service-billing_role_1 (create)\n'
      + '  aws_kms_key_policy.key_policy_2 (update)\n'
      + '  aws_s3_object.declared_billing_3 (create): service billing is new, with the variables TOKEN\n'
      + '  and 1 ciphertext object (1 to add, 0 to change, 0 to destroy)\n');
  });

  it('exit 3, one line per reason: the attacks that got exit 0 before', async () => {
    project = newProject();
    const token = ciphertextValues('staging', 'api/token', TOKEN);
    const run = await checkJson(planJson({
      prior,
      changes: [
        { address: 'aws_s3_object.objects_api_token_1', actions: ['create'], after: token, provisioners: ['local-exec'] },
        { address: 'aws_s3_object.objects_api_token_2', actions: ['create'], after: { ...token, bucket: 'kms-secrets-production-secrets' } },
        { address: 'aws_s3_object.objects_api_token_3', actions: ['create'], after: { ...token, source: '../../../state/production.tfstate', etag: md5('{}') } },
        { address: 'aws_s3_object.objects_api_node-options_4', actions: ['create'], after: objectValues(BUCKET, 'api/node-options', { source: '../../../secrets/staging/api/node-options', etag: md5('x') }) },
        { address: 'aws_kms_key_policy.key_policy_5', actions: ['forget'], before: { policy: '{}' } },
      ],
    }));

    expect(run.code).toBe(3);
    expect(run.stdout.split('\n').slice(1)).toEqual([
      '  aws_s3_object.objects_api_token_1 (create): the configuration gives it a local-exec provisioner, which would run with the deployer\'s credentials on apply',
      '  aws_s3_object.objects_api_token_2 (create): bucket kms-secrets-production-secrets is not kms-secrets-staging-secrets, the bucket of env staging',
      '  aws_s3_object.objects_api_token_3 (create): source ../../../state/production.tfstate is not secrets/staging/api/token',
      `  aws_s3_object.objects_api_token_3 (create): etag ${md5('{}')} is not the MD5 of secrets/staging/api/token as it is in the tree`,
      expect.stringMatching(/^ {2}aws_s3_object\.objects_api_node-options_4 \(create\): key api\/node-options: NODE_OPTIONS changes how programs start/),
      '  aws_s3_object.objects_api_node-options_4 (create): api/node-options is not declared: the deployed list of service api does not name node-options',
      '  aws_s3_object.objects_api_node-options_4 (create): secrets/staging/api/node-options is not a regular file in the tree',
      '  aws_kms_key_policy.key_policy_5 (forget): a removed block takes it out of Terraform\'s state without destroying it',
      '',
    ]);
  });

  it('exit 3: an object uploaded from a symbolic link in the tree (to a state file) is not that file', async () => {
    project = newProject();
    unlinkSync(join(project.root, 'secrets/staging/api/token'));
    symlinkSync(join(project.root, 'state/production.tfstate'), join(project.root, 'secrets/staging/api/token'));
    const run = await checkJson(planJson({ prior, changes: [{ ...rotateToken, after: { ...rotateToken.after, etag: md5('{}') } }] }));

    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^ {2}aws_s3_object\.objects_api_token_1 \(update\): secrets\/staging\/api\/token is not a regular file in the tree$/m);
  });

  it('takes the bucket from the settings', async () => {
    project = newProject();
    project.write('kms-secrets.json', JSON.stringify({ defaults: { bucketPrefix: 'acme-' } }));
    const run = await checkJson(planJson({ prior, changes: [rotateToken] }));

    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/bucket kms-secrets-staging-secrets is not acme-staging-secrets, the bucket of env staging/);
  });

  it('says there is nothing to apply for a plan without changes', async () => {
    project = newProject();
    const run = await checkJson(planJson({ prior }));
    expect([run.code, run.stdout]).toEqual([0, 'plan-check staging: no changes; nothing to apply\n']);
  });

  it('exit 2 for a usage mistake: no env named', async () => {
    project = newProject();
    project.write('plan.json', JSON.stringify(planJson()));
    const run = await check(['--plan', 'plan.json']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^kms-secrets: plan-check takes exactly one env, e\.g\. kms-secrets plan-check staging\nhint: usage: kms-secrets plan-check <env>/);
    expect(run.stdout).toBe('');
  });

  it.each([
    [['Staging', '--plan', 'plan.json'], /^kms-secrets: env name "Staging" must match/],
    [['staging', '--plan', 'missing.json'], /^kms-secrets: no plan at .*missing\.json\nhint: save one with terraform plan -out=FILE/],
    [['staging', '--plan', 'not-a-plan.json'], /^kms-secrets: the plan of env staging cannot be read: not the JSON of a Terraform plan/],
    [['staging', '--plan', 'state.json'], /^kms-secrets: the plan of env staging cannot be read: not the JSON of a Terraform plan .*\(a state\?\)/],
    [['staging', '--plan', 'errored.json'], /^kms-secrets: the plan of env staging cannot be used: Terraform reported errors while planning \(errored\)/],
    [['staging', '--plan', 'incomplete.json'], /^kms-secrets: the plan of env staging cannot be used: the plan is incomplete/],
  ])('exit 1 with a clear message, never "no changes", for %j', async (args, message) => {
    project = newProject();
    project.write('plan.json', JSON.stringify(planJson()));
    project.write('not-a-plan.json', '{"resources": []}');
    project.write('state.json', JSON.stringify({ format_version: '1.0', terraform_version: '1.11.4', values: { root_module: {} } }));
    project.write('errored.json', JSON.stringify(planJson({ errored: true })));
    project.write('incomplete.json', JSON.stringify(planJson({ complete: false })));
    const run = await check(args);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });
});

/**
 * A stack written by hand in the shape the app synthesizes (offline provider, no bucket resource: its name is
 * literal), planned with -refresh=false against a state that holds api's deployed declared list and one object,
 * so Terraform asks AWS nothing.
 */
describeWithTerraform('plan-check --plan FILE, a plan saved by the real Terraform', () => {
  const env = envWithoutAws();
  const DB_PASSWORD = Buffer.from('ciphertext of api/db-password');
  const stackObject = (key: string, fields: Record<string, unknown>) => ({ bucket: BUCKET, key, content_type: 'application/octet-stream', server_side_encryption: 'AES256', ...fields });
  const fromFile = (key: string) => ({ source: `../../../secrets/staging/${key}`, etag: `\${filemd5("../../../secrets/staging/${key}")}` });
  const stateOf = (values: Record<string, unknown>) => ({ ...values, metadata: null, tags: null, version_id: '' });
  const apiList = declaredListValues('staging', 'api', ['db-password', 'token']);
  const plan = (file: string) => planStack(project.root, 'staging', env, { file, args: ['-refresh=false'] });

  beforeAll(async () => {
    project = makeProject({ files: { 'secrets/staging/api/token': TOKEN, 'secrets/staging/api/db-password': DB_PASSWORD } });
    project.write('cdktf.out/stacks/staging/cdk.tf.json', JSON.stringify({
      terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
      provider: { aws: [{ region: 'us-east-1', access_key: 'offline-plan', secret_key: 'offline-plan', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: 'true' }] },
      variable: { gate: { type: 'string', default: 'open' } },
      resource: {
        aws_s3_object: {
          declared_api_5E1B2C3D: stackObject('.declared/api.json', { content: apiList.content }),
          'objects_api_db-password_2B3C4D5E': stackObject('api/db-password', fromFile('api/db-password')),
          objects_api_token_1A2B3C4D: stackObject('api/token', fromFile('api/token')),
        },
      },
    }));
    const resource = (name: string, values: Record<string, unknown>) => ({
      mode: 'managed', type: 'aws_s3_object', name, provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes: stateOf(values), sensitive_attributes: [] }],
    });
    project.write('cdktf.out/stacks/staging/terraform.tfstate', JSON.stringify({
      version: 4, terraform_version: '1.11.4', serial: 1, lineage: '00000000-0000-4000-8000-000000000000', outputs: {},
      resources: [
        resource('declared_api_5E1B2C3D', apiList),
        resource('objects_api_db-password_2B3C4D5E', ciphertextValues('staging', 'api/db-password', DB_PASSWORD)),
      ],
    }));
    const init = await runTerraform(project.root, stackDirOf(project.root, 'staging'), ['init', '-input=false', '-no-color'], { output: 'capture', env });
    expect(init.code, init.stderr).toBe(0);
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => project?.remove());

  it('exit 0: the object of a declared secret is created from its file', async () => {
    const planned = await plan('clean.tfplan');
    expect(planned.code, planned.output).toBe(0);
    const run = await check(['staging', '--plan', planned.planFile]);

    expect(run.stderr).toBe('');
    expect([run.code, run.stdout]).toEqual([0, 'plan-check staging: only ciphertext objects change (1 to add, 0 to change, 0 to destroy): the deployer can apply this plan\n']);
  }, TERRAFORM_TIMEOUT_MS);

  it('exit 3: the object carries a local-exec provisioner', async () => {
    const restore = craftStack(project.root, 'staging', crafts.provisioner('echo provisioner-ran', 'api/token'));
    try {
      const planned = await plan('provisioner.tfplan');
      expect(planned.code, planned.output).toBe(0);
      const run = await check(['staging', '--plan', planned.planFile]);

      expect(run.code).toBe(3);
      expect(run.stdout.split('\n').slice(1)).toEqual([
        '  aws_s3_object.objects_api_token_1A2B3C4D (create): the configuration gives it a local-exec provisioner, which would run with the deployer\'s credentials on apply',
        '',
      ]);
    } finally {
      restore();
    }
  }, TERRAFORM_TIMEOUT_MS);

  it('exit 3: a removed block destroys an object with a destroy-time provisioner, which the JSON plan shows as a plain delete', async () => {
    const restore = craftStack(project.root, 'staging', crafts.removed('aws_s3_object', { destroy: true, provisioner: 'echo provisioner-ran', name: 'objects_api_db-password_2B3C4D5E' }));
    try {
      const planned = await plan('removed.tfplan');
      expect(planned.code, planned.output).toBe(0);
      const shown = await runTerraform(project.root, stackDirOf(project.root, 'staging'), ['show', '-json', planned.planFile], { output: 'capture', env });
      expect(shown.stdout).not.toMatch(/provisioner-ran|"removed"/);
      const run = await check(['staging', '--plan', planned.planFile]);

      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/^ {2}aws_s3_object\.objects_api_db-password_2B3C4D5E \(delete\): it is deleted; a removed block with a destroy-time provisioner looks exactly like this/m);
    } finally {
      restore();
    }
  }, TERRAFORM_TIMEOUT_MS);

  it('exit 1: an errored plan, saved by terraform plan -out when planning failed, is never "no changes"', async () => {
    const restore = craftStack(project.root, 'staging', (stack) => {
      stack.resource.aws_s3_object!['objects_api_db-password_2B3C4D5E']!.lifecycle = [{ precondition: [{ condition: '${var.gate == "closed"}', error_message: 'the gate is open' }] }];
    });
    try {
      const planned = await plan('errored.tfplan');
      expect(planned.code).not.toBe(0);
      expect(readFileSync(planned.planFile).length).toBeGreaterThan(0);
      const run = await check(['staging', '--plan', planned.planFile]);

      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^kms-secrets: the plan of env staging cannot be used: Terraform reported errors while planning \(errored\)/);
      expect(run.stdout).toBe('');
    } finally {
      restore();
    }
  }, TERRAFORM_TIMEOUT_MS);
});
