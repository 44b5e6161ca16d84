/**
 * Who may apply a plan, from Terraform's JSON plan: the deployer only when every change creates or updates a
 * declared ciphertext object of the env's bucket from its own file, as the stack makes it; an administrator
 * for anything else, each reason named. A plan Terraform did not finish has no verdict.
 */
import { describe, expect, it } from 'vitest';
import { PlanFormatError, planVerdict, UnusablePlanError, type PlanContext } from '../../lib/plan-verdict.ts';
import { ciphertextValues, declaredListValues, md5, objectValues, planJson, type Change, type PlanFixture } from '../support/plan-json.ts';

const TOKEN = Buffer.from('ciphertext of api/token');
const DB_PASSWORD = Buffer.from('ciphertext of api/db-password');
const files: Record<string, Buffer> = {
  '/repo/secrets/staging/api/token': TOKEN,
  '/repo/secrets/staging/api/db-password': DB_PASSWORD,
  '/repo/secrets/staging/api/node-options': Buffer.from('ciphertext of api/node-options'),
  '/repo/secrets/staging/api/new-token': Buffer.from('ciphertext of api/new-token'),
  '/repo/secrets/staging/billing/token': Buffer.from('ciphertext of billing/token'),
  '/repo/secrets/production/api/token': Buffer.from('ciphertext of production api/token'),
  '/repo/state/production.tfstate': Buffer.from('{"resources": []}'),
};
const context: PlanContext = {
  env: 'staging',
  bucketName: 'kms-secrets-staging-secrets',
  projectRoot: '/repo',
  stackDir: '/repo/cdktf.out/stacks/staging',
  readFileMd5: (path) => (files[path] ? md5(files[path]!) : undefined),
};
/** What an administrator deployed: api declares token, db-password and node-options (allowed below); web declares nothing yet. */
const prior = {
  'aws_s3_object.declared_api_5E1B2C3D': declaredListValues('staging', 'api', ['token', 'db-password', 'node-options']),
  'aws_s3_object.declared_web_6F7A8B9C': declaredListValues('staging', 'web', []),
};
const TOKEN_ADDRESS = 'aws_s3_object.objects_api_token_1A2B3C4D';
const tokenValues = ciphertextValues('staging', 'api/token', TOKEN);
const rotateToken: Change = { address: TOKEN_ADDRESS, actions: ['update'], before: { ...tokenValues, etag: md5('old') }, after: tokenValues };

const verdict = (fixture: PlanFixture, extra: Partial<PlanContext> = {}) => planVerdict(planJson({ prior, ...fixture }), { ...context, ...extra });
/** `address (action): reason` for each refusal, as plan-check prints them. */
const refusals = (fixture: PlanFixture, extra: Partial<PlanContext> = {}) =>
  verdict(fixture, extra).needsAdministrator.map((r) => `${r.subject} (${r.action})${r.reason === undefined ? '' : `: ${r.reason}`}`);
const objectChange = (fields: Partial<Record<string, unknown>>, actions = ['create']): Change =>
  ({ address: TOKEN_ADDRESS, actions, after: { ...tokenValues, ...fields } });

describe('the deployer may apply', () => {
  it('creates and updates of declared ciphertext objects in the env\'s bucket, uploaded from their own files as they are', () => {
    const create: Change = { address: 'aws_s3_object.objects_api_db-password_2B3C4D5E', actions: ['create'], after: ciphertextValues('staging', 'api/db-password', DB_PASSWORD) };
    const result = verdict({ changes: [rotateToken, create, { address: 'aws_kms_key.key_F64E54E4', actions: ['no-op'] }] });

    expect(result.needsAdministrator).toEqual([]);
    expect(result.ciphertextChanges.map((c) => [c.address, c.action])).toEqual([[TOKEN_ADDRESS, 'update'], ['aws_s3_object.objects_api_db-password_2B3C4D5E', 'create']]);
  });

  it('a plan without changes, and no-op changes (nothing to apply)', () => {
    expect(verdict({ changes: [{ address: 'aws_iam_role.service-api_role_77297BE5', actions: ['no-op'] }] })).toEqual({ changes: [], ciphertextChanges: [], needsAdministrator: [] });
  });

  it('an object whose source is written differently but is the same file', () => {
    expect(refusals({ changes: [objectChange({ source: '/repo/secrets/staging/../staging/api/token' })] })).toEqual([]);
  });

  it('drift of its ciphertext objects (metadata the provider reads back)', () => {
    expect(refusals({ changes: [rotateToken], drift: [{ address: TOKEN_ADDRESS, actions: ['update'], before: { ...tokenValues, metadata: null }, after: tokenValues }] })).toEqual([]);
  });
});

describe('the plan must be one Terraform finished', () => {
  it('refuses an errored plan (a failed plan saved with -out): it may lack changes, so it is never "no changes"', () => {
    expect(() => verdict({ errored: true })).toThrow(UnusablePlanError);
    expect(() => verdict({ errored: true })).toThrow(/errors while planning \(errored\)/);
  });

  it('refuses an incomplete plan (complete: false)', () => {
    expect(() => verdict({ complete: false })).toThrow(/incomplete/);
  });

  it('refuses what is not the JSON of a Terraform plan: a state, another document, malformed changes', () => {
    const state = { format_version: '1.0', terraform_version: '1.11.4', values: { root_module: { resources: [] } } };
    expect(() => planVerdict(state, context)).toThrow(PlanFormatError);
    expect(() => planVerdict({ resources: [] }, context)).toThrow(/format_version 1\.x/);
    expect(() => planVerdict('{}', context)).toThrow(PlanFormatError);
    const { errored: _, ...withoutErrored } = planJson();
    expect(() => planVerdict(withoutErrored, context)).toThrow(/no "errored" field/);
    expect(() => planVerdict({ ...planJson(), resource_changes: [{ address: 'aws_s3_object.x' }] }, context)).toThrow(/resource_changes\[0\] is not a resource change/);
  });
});

describe('only creates and updates: no replace, no delete, no forget, no import, no move', () => {
  it('refuses a replaced object', () => {
    expect(refusals({ changes: [{ ...objectChange({}), actions: ['delete', 'create'], before: objectValues(context.bucketName, 'api/old') }] }))
      .toEqual([`${TOKEN_ADDRESS} (replace): it is replaced (deleted and created again); the deployer only creates and updates objects`]);
  });

  it('refuses a deleted object: a removed block with a destroy-time provisioner shows as just that', () => {
    expect(refusals({ changes: [{ address: TOKEN_ADDRESS, actions: ['delete'], before: tokenValues }] }))
      .toEqual([`${TOKEN_ADDRESS} (delete): it is deleted; a removed block with a destroy-time provisioner looks exactly like this in the plan, so only an administrator deletes objects`]);
  });

  it('refuses a removed block (forget) of the key policy, and of an object', () => {
    expect(refusals({ changes: [{ address: 'aws_kms_key_policy.key_policy_1A2B3C4D', actions: ['forget'], before: { policy: '{}' } }, { address: TOKEN_ADDRESS, actions: ['forget'], before: tokenValues }] })).toEqual([
      'aws_kms_key_policy.key_policy_1A2B3C4D (forget): a removed block takes it out of Terraform\'s state without destroying it',
      `${TOKEN_ADDRESS} (forget): a removed block takes it out of Terraform's state without destroying it`,
    ]);
  });

  it('refuses an import block, even when the import changes nothing', () => {
    expect(refusals({ changes: [{ address: TOKEN_ADDRESS, actions: ['no-op'], after: tokenValues, importing: { id: 's3://kms-secrets-staging-secrets/api/token' } }] }))
      .toEqual([`${TOKEN_ADDRESS} (import): an import block brings an existing object under Terraform (id s3://kms-secrets-staging-secrets/api/token)`]);
  });

  it('refuses a moved block, even when the move changes nothing', () => {
    expect(refusals({ changes: [{ address: TOKEN_ADDRESS, actions: ['no-op'], after: tokenValues, previous_address: 'aws_s3_object.old' }] }))
      .toEqual([`${TOKEN_ADDRESS} (move): a moved block moves it here from aws_s3_object.old`]);
  });
});

describe('only managed aws_s3_object resources of hashicorp/aws', () => {
  it.each([
    ['a new task role', 'aws_iam_role.service-billing_role_1A2B3C4D', ['create']],
    ['a changed inline policy', 'aws_iam_role_policy.service-api_policy_1A2B3C4D', ['update']],
    ['the key policy', 'aws_kms_key_policy.key_policy_1A2B3C4D', ['update']],
    ['the alias', 'aws_kms_alias.key_alias_1A2B3C4D', ['delete', 'create']],
    ['the bucket policy', 'aws_s3_bucket_policy.bucket_policy_1A2B3C4D', ['update']],
    ['a resource that only runs a command', 'terraform_data.run', ['create']],
  ])('refuses %s, named by its address and action', (_name, address, actions) => {
    expect(refusals({ changes: [rotateToken, { address, actions }] })).toEqual([`${address} (${actions.length === 2 ? 'replace' : actions[0]})`]);
  });

  it('refuses a data source read at apply time', () => {
    expect(refusals({ changes: [{ address: 'data.external.run', mode: 'data', actions: ['read'] }] })).toEqual(['data.external.run (read)']);
  });

  it('refuses an aws_s3_object of another provider', () => {
    expect(refusals({ changes: [{ ...objectChange({}), provider: 'registry.terraform.io/evil/aws' }] }))
      .toEqual([`${TOKEN_ADDRESS} (create): an aws_s3_object of provider registry.terraform.io/evil/aws, not of hashicorp/aws`]);
  });

  it.each([
    ['a profile whose config file runs a credential_process', { profile: { constant_value: 'x' }, shared_config_files: [{ constant_value: '/tmp/cfg' }] }, 'profile, shared_config_files'],
    ['a role to assume', { assume_role: [{ role_arn: { constant_value: 'arn:aws:iam::999999999999:role/x' } }] }, 'assume_role'],
    ['a proxy and a CA bundle', { http_proxy: { constant_value: 'http://proxy.example' }, custom_ca_bundle: { constant_value: '/tmp/ca.pem' } }, 'http_proxy, custom_ca_bundle'],
    ['endpoints, for an env on AWS', { endpoints: [{ s3: { constant_value: 'https://s3.evil.example' } }] }, 'endpoints'],
  ])('refuses a provider given settings the stack never writes: %s', (_name, settings, named) => {
    expect(refusals({ changes: [rotateToken], providerSettings: { region: { constant_value: 'us-east-1' }, ...settings } }))
      .toEqual([`provider aws (configured): it sets ${named}, which the stack never sets for an env on AWS`]);
  });

  it('lets a local env\'s provider point at the local endpoint on loopback, and nowhere else', () => {
    const endpoints = (url: string) => ({ region: { constant_value: 'us-east-1' }, endpoints: [{ kms: { constant_value: url }, s3: { constant_value: url } }] });
    expect(refusals({ changes: [rotateToken], providerSettings: endpoints('http://127.0.0.1:4566') }, { local: true })).toEqual([]);
    expect(refusals({ changes: [rotateToken], providerSettings: endpoints('https://kms.evil.example') }, { local: true }))
      .toEqual(['provider aws (configured): its endpoints point away from the local endpoint on loopback (https://kms.evil.example, https://kms.evil.example)']);
  });

  it('refuses a second configuration of hashicorp/aws (an alias)', () => {
    expect(refusals({ changes: [rotateToken], providers: { aws: 'registry.terraform.io/hashicorp/aws', 'aws.other': 'registry.terraform.io/hashicorp/aws' } }))
      .toEqual(['provider aws.other (configured): a second configuration of hashicorp/aws; the stack has one, without an alias']);
  });

  it('refuses a configuration that sets up any provider but hashicorp/aws', () => {
    expect(refusals({ changes: [rotateToken], providers: { aws: 'registry.terraform.io/hashicorp/aws', external: 'registry.terraform.io/hashicorp/external' } }))
      .toEqual(['provider external (configured): registry.terraform.io/hashicorp/external is not hashicorp/aws, the only provider of the stack']);
  });
});

describe('as the stack makes an object: every other setting is the provider\'s default', () => {
  it.each([
    ['a storage class it cannot be read from', { storage_class: 'DEEP_ARCHIVE' }, 'storage_class is "DEEP_ARCHIVE", not STANDARD as the stack sets it'],
    ['a website redirect', { website_redirect: 'https://evil.example' }, 'it sets website_redirect, which the stack never sets'],
    ['metadata', { metadata: { 'x-amz-meta-a': 'b' } }, 'it sets metadata, which the stack never sets'],
    ['a KMS key', { kms_key_id: 'arn:aws:kms:us-east-1:999999999999:key/x' }, 'it sets kms_key_id, which the stack never sets'],
    ['another content type', { content_type: 'text/html' }, 'content_type is "text/html", not application/octet-stream as the stack sets it'],
  ])('refuses %s', (_name, setting, reason) => {
    expect(refusals({ changes: [{ ...rotateToken, after: { ...tokenValues, ...setting } }] })).toEqual([`${TOKEN_ADDRESS} (update): ${reason}`]);
  });
});

describe('in the env\'s own bucket', () => {
  it('refuses an object in another env\'s bucket', () => {
    expect(refusals({ changes: [objectChange({ bucket: 'kms-secrets-production-secrets' })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): bucket kms-secrets-production-secrets is not kms-secrets-staging-secrets, the bucket of env staging`]);
  });

  it('refuses an object whose bucket is not known until apply', () => {
    const { bucket: _, ...unknownBucket } = tokenValues;
    expect(refusals({ changes: [{ address: TOKEN_ADDRESS, actions: ['create'], after: unknownBucket }] }))
      .toEqual([`${TOKEN_ADDRESS} (create): its bucket is not known until apply, so it cannot be shown to be kms-secrets-staging-secrets`]);
  });
});

describe('under a valid, declared <service>/<name>', () => {
  it('refuses a key that is no secret\'s <service>/<name>', () => {
    expect(refusals({ changes: [objectChange({ key: 'api/deep/token' })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): key api/deep/token is not a secret's <service>/<name>: "api/deep/token" is not <service>/<secret>`]);
  });

  it('refuses a key whose name breaks the naming rule', () => {
    expect(refusals({ changes: [objectChange({ key: 'api/1token' })] })).toEqual([expect.stringMatching(/ \(create\): key api\/1token is not a secret's <service>\/<name>: secret name "1token" breaks the naming rule/)]);
  });

  it('refuses a name that becomes a loader variable, declared or not, unless the env\'s settings allow it', () => {
    const nodeOptions = objectChange({ key: 'api/node-options', source: '../../../secrets/staging/api/node-options', etag: md5(files['/repo/secrets/staging/api/node-options']!) });
    expect(refusals({ changes: [nodeOptions] })).toEqual([expect.stringMatching(/^aws_s3_object\.\S+ \(create\): key api\/node-options: NODE_OPTIONS changes how programs start/)]);
    expect(refusals({ changes: [nodeOptions] }, { allowLoaderVariables: ['NODE_OPTIONS'] })).toEqual([]);
  });

  it('refuses a name its service\'s deployed list does not declare', () => {
    expect(refusals({ changes: [objectChange({ key: 'api/new-token', source: '../../../secrets/staging/api/new-token', etag: md5(files['/repo/secrets/staging/api/new-token']!) })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): api/new-token is not declared: the deployed list of service api does not name new-token`]);
  });

  it('refuses an object of a service with no deployed list (a new service)', () => {
    expect(refusals({ changes: [objectChange({ key: 'billing/token', source: '../../../secrets/staging/billing/token', etag: md5(files['/repo/secrets/staging/billing/token']!) })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): billing/token is not declared: service billing has no deployed list of names (.declared/billing.json in the prior state)`]);
  });

  it('takes the declared names from the prior state only, not from the list the plan itself writes', () => {
    const listed = verdict({ prior: {}, changes: [rotateToken, { address: 'aws_s3_object.declared_api_5E1B2C3D', actions: ['create'], after: declaredListValues('staging', 'api', ['token']) }] });
    expect(listed.needsAdministrator.map((r) => r.reason)).toContain('api/token is not declared: service api has no deployed list of names (.declared/api.json in the prior state)');
  });

  it('refuses to trust a deployed list of another env or bucket', () => {
    const foreign = { 'aws_s3_object.declared_api_5E1B2C3D': declaredListValues('production', 'api', ['token'], context.bucketName) };
    expect(refusals({ prior: foreign, changes: [rotateToken] })).toEqual([
      `${TOKEN_ADDRESS} (update): api/token cannot be checked against its service's declared names: s3://kms-secrets-staging-secrets/.declared/api.json declares the secrets of env production, service api, not of env staging, service api`,
    ]);
    const otherBucket = { 'aws_s3_object.declared_api_5E1B2C3D': declaredListValues('staging', 'api', ['token'], 'kms-secrets-production-secrets') };
    expect(refusals({ prior: otherBucket, changes: [rotateToken] })).toEqual([expect.stringMatching(/api\/token is not declared: service api has no deployed list/)]);
  });
});

describe('uploaded from its own file, as it is now', () => {
  it('refuses a source that is another env\'s state file', () => {
    expect(refusals({ changes: [objectChange({ source: '../../../state/production.tfstate', etag: md5(files['/repo/state/production.tfstate']!) })] }))
      .toEqual([
        `${TOKEN_ADDRESS} (create): source ../../../state/production.tfstate is not secrets/staging/api/token`,
        `${TOKEN_ADDRESS} (create): etag ${md5(files['/repo/state/production.tfstate']!)} is not the MD5 of secrets/staging/api/token as it is in the tree`,
      ]);
  });

  it('refuses a source that is another env\'s ciphertext of the same name', () => {
    expect(refusals({ changes: [objectChange({ source: '../../../secrets/production/api/token' })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): source ../../../secrets/production/api/token is not secrets/staging/api/token`]);
  });

  it('refuses an object without a source', () => {
    expect(refusals({ changes: [objectChange({ source: null })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): it has no source file; a ciphertext object is uploaded from secrets/staging/api/token`]);
  });

  it('refuses an etag that is not the MD5 of the file in the tree', () => {
    expect(refusals({ changes: [objectChange({ etag: md5('what the file was') })] }))
      .toEqual([`${TOKEN_ADDRESS} (create): etag ${md5('what the file was')} is not the MD5 of secrets/staging/api/token as it is in the tree`]);
  });

  it('refuses an object whose file is not in the tree', () => {
    expect(refusals({ changes: [objectChange({}, ['update'])] }, { readFileMd5: () => undefined }))
      .toEqual([`${TOKEN_ADDRESS} (update): secrets/staging/api/token is not a regular file in the tree`]);
  });

  it('refuses bytes carried in the plan (content, content_base64), and never repeats them', () => {
    const reasons = refusals({ changes: [objectChange({ content: 'hunter2-the-plaintext' }), { ...objectChange({ content_base64: 'aHVudGVyMg==' }), address: 'aws_s3_object.objects_api_token_2' }] });
    expect(reasons).toEqual([
      `${TOKEN_ADDRESS} (create): it carries its bytes in the plan (content) instead of uploading secrets/staging/api/token`,
      'aws_s3_object.objects_api_token_2 (create): it carries its bytes in the plan (content_base64) instead of uploading secrets/staging/api/token',
    ]);
    expect(reasons.join('\n')).not.toMatch(/hunter2|aHVudGVyMg/);
  });
});

describe('with no provisioner', () => {
  it('refuses an object the configuration gives a local-exec provisioner (it would run with the deployer\'s credentials)', () => {
    expect(refusals({ changes: [{ ...objectChange({}), provisioners: ['local-exec'] }] }))
      .toEqual([`${TOKEN_ADDRESS} (create): the configuration gives it a local-exec provisioner, which would run with the deployer's credentials on apply`]);
  });

  it('refuses an object whose configuration is not in the root module, where it cannot be seen', () => {
    expect(refusals({ changes: [{ ...rotateToken, notInRootModule: true }] }))
      .toEqual([`${TOKEN_ADDRESS} (update): its configuration is not among the root module's resources, so it cannot be shown to have no provisioner`]);
  });
});

describe('a declared list changes only by an administrator\'s apply, said by its variables', () => {
  const API_LIST = 'aws_s3_object.declared_api_5E1B2C3D';
  const listChange = (actions: string[], before: string[] | null, after: string[] | null, service = 'api'): Change => ({
    address: API_LIST, actions,
    before: before && declaredListValues('staging', service, before),
    after: after && declaredListValues('staging', service, after),
  });

  it('names the variables a service gains and loses', () => {
    expect(refusals({ changes: [listChange(['update'], ['token', 'old-token'], ['token', 'node-options'])] })).toEqual([
      `${API_LIST} (update): service api gains the variable NODE_OPTIONS`,
      `${API_LIST} (update): service api loses the variable OLD_TOKEN`,
    ]);
  });

  it('names a new service with its variables', () => {
    expect(refusals({ changes: [listChange(['create'], null, ['token', 'db-password'], 'billing')] }))
      .toEqual([`${API_LIST} (create): service billing is new, with the variables DB_PASSWORD, TOKEN`]);
  });

  it('names a service that is no longer declared', () => {
    expect(refusals({ changes: [listChange(['delete'], ['session-key'], null, 'web')] })).toEqual([
      `${API_LIST} (delete): it is deleted; a removed block with a destroy-time provisioner looks exactly like this in the plan, so only an administrator deletes objects`,
      `${API_LIST} (delete): service web is no longer declared: it loses the variables SESSION_KEY`,
    ]);
  });

  it('after a refused apply (the state holds a list the bucket does not: its etag, read back, is not the MD5 of its content) says so and names every variable the plan writes', () => {
    const planned = declaredListValues('staging', 'api', ['token', 'aws-config-file']);
    const refusedState = { ...planned, etag: md5(String(declaredListValues('staging', 'api', ['token']).content)) };
    expect(refusals({ changes: [{ address: API_LIST, actions: ['update'], before: refusedState, after: planned }] })).toEqual([
      `${API_LIST} (update): the state's declared list of service api is not the one in the bucket (its etag is not the MD5 of its content: an apply that was refused leaves the planned list in the state); this plan writes one with the variables AWS_CONFIG_FILE, TOKEN`,
    ]);
  });

  it('after a refused apply, checks no object against the state\'s list: its names are not the bucket\'s', () => {
    const planned = declaredListValues('staging', 'api', ['token', 'db-password', 'node-options']);
    const stalePrior = { ...prior, [API_LIST]: { ...planned, etag: md5('what the bucket holds') } };
    expect(refusals({ prior: stalePrior, changes: [rotateToken] })).toEqual([
      `${TOKEN_ADDRESS} (update): api/token cannot be checked against its service's declared names: the state's declared list of service api is not the one in the bucket (its etag is not the MD5 of its content: an apply that was refused leaves the planned list in the state)`,
    ]);
  });

  it('refuses a rewrite of a list that keeps its variables', () => {
    const rewritten = { ...declaredListValues('staging', 'api', ['token']), content_type: 'text/plain' };
    expect(refusals({ changes: [{ address: API_LIST, actions: ['update'], before: declaredListValues('staging', 'api', ['token']), after: rewritten }] }))
      .toEqual([`${API_LIST} (update): the declared list of service api changes, though not its variables`]);
  });
});

describe('no drift that bears on the plan and no deferred change but of ciphertext objects', () => {
  it('refuses drift of anything else that Terraform says bears on the plan, naming the attributes that changed outside Terraform', () => {
    expect(refusals({ changes: [rotateToken], relevant: ['aws_kms_key_policy.key_policy_1A2B3C4D.policy'], drift: [{ address: 'aws_kms_key_policy.key_policy_1A2B3C4D', actions: ['update'], before: { policy: 'a' }, after: { policy: 'b' } }] }))
      .toEqual(['aws_kms_key_policy.key_policy_1A2B3C4D (drift): changed outside Terraform since the last apply (policy); a change the plan acts on: an administrator finds out who made it before anything is applied']);
  });

  it('lets pass what every refresh after an apply fills in, which bears on no change (tags {}, attachment counts, the key\'s first policy)', () => {
    expect(refusals({ changes: [rotateToken], relevant: ['aws_s3_bucket.bucket_3056591E.id'], drift: [
      { address: 'aws_s3_bucket.bucket_3056591E', actions: ['update'], before: { id: 'b', versioning: [{ enabled: false }] }, after: { id: 'b', versioning: [{ enabled: true }] } },
      { address: 'aws_kms_key.key_F64E54E4', actions: ['update'], before: { policy: 'first', tags: null }, after: { policy: 'current', tags: {} } },
      { address: 'aws_iam_policy.service-api_read-policy_41339463', actions: ['update'], before: { attachment_count: 0 }, after: { attachment_count: 1 } },
    ] })).toEqual([]);
  });

  it('refuses drift of a declared list that bears on the plan', () => {
    const list = declaredListValues('staging', 'api', ['token']);
    expect(refusals({ relevant: ['aws_s3_object.declared_api_5E1B2C3D.content'], drift: [{ address: 'aws_s3_object.declared_api_5E1B2C3D', actions: ['delete'], before: list, after: null }] }))
      .toEqual(['aws_s3_object.declared_api_5E1B2C3D (drift): deleted outside Terraform since the last apply; a change the plan acts on: an administrator finds out who made it before anything is applied']);
  });

  it('refuses a deferred change of anything else', () => {
    const planned = planJson({ prior, changes: [rotateToken], deferred: [{ address: 'aws_iam_role.service-api_role_77297BE5', actions: ['create'] }] });
    delete planned.complete; // a plan that does not say whether it is complete
    expect(planVerdict(planned, context).needsAdministrator)
      .toEqual([{ subject: 'aws_iam_role.service-api_role_77297BE5', action: 'deferred', reason: 'Terraform deferred it to a later plan (provider_config_unknown)' }]);
  });
});
