import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../lib/errors.ts';
import { loadSettings, parseSettings } from '../../lib/settings.ts';
import { makeProject } from '../support/project.ts';

const GITHUB = 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com';

describe('settings', () => {
  it('a fresh clone needs none: every env gets the defaults', () => {
    const project = makeProject();
    try {
      const settings = loadSettings(project.root);
      expect(settings.defaultEnv).toBe('staging');
      expect(settings.forEnv('staging')).toEqual({
        region: 'us-east-1',
        bucketPrefix: 'kms-secrets-',
        bucketName: 'kms-secrets-staging-secrets',
        allowedAccountIds: [],
        keyAdministrators: [],
        noncurrentVersionDays: 30,
        vpcEndpointId: undefined,
        backend: { type: 'local' },
        local: false,
        keyAlias: 'alias/kms-secrets/staging',
        forceDestroy: false,
        taskRoleTrustedPrincipals: [],
        ecsClusterArn: undefined,
        breakGlassPrincipals: [],
        allowLoaderVariables: [],
        roles: {},
        services: {},
      });
    } finally {
      project.remove();
    }
  });

  it('an env overrides the shared defaults, which override the built-in ones', () => {
    const settings = parseSettings({
      defaultEnv: 'dev',
      defaults: { region: 'eu-west-1', bucketPrefix: 'acme-' },
      environments: {
        production: { allowedAccountIds: ['111111111111'], backend: { type: 's3', bucket: 'acme-tfstate' } },
      },
    });
    expect(settings.defaultEnv).toBe('dev');
    expect(settings.forEnv('production')).toMatchObject({
      region: 'eu-west-1', bucketPrefix: 'acme-', allowedAccountIds: ['111111111111'],
      backend: { type: 's3', bucket: 'acme-tfstate', keyPrefix: 'kms-secrets' },
    });
    expect(settings.forEnv('dev').allowedAccountIds).toEqual([]);
  });

  it.each([
    [{ defaults: { regoin: 'eu-west-1' } }, /unknown setting "regoin"/],
    [{ environments: { prod: { region: 'europe' } } }, /region "europe" is not an AWS region/],
    [{ environments: { prod: { allowedAccountIds: ['1234'] } } }, /"1234", which is not a 12-digit account id/],
    [{ environments: { prod: { keyAdministrators: ['alice'] } } }, /"alice", which is not an IAM role/],
    [{ environments: { prod: { bucketPrefix: 'Acme_' } } }, /not a valid S3 bucket name/],
    [{ environments: { prod: { noncurrentVersionDays: 0 } } }, /noncurrentVersionDays must be a whole number/],
    [{ environments: { prod: { vpcEndpointId: 'endpoint-1' } } }, /is not a vpce-… id/],
    [{ environments: { prod: { backend: { type: 'gcs' } } } }, /type must be "local" or "s3"/],
    [{ environments: { prod: { keyAlias: 'alias/aws/s3' } } }, /keyAlias "alias\/aws\/s3"/],
    [{ environments: { prod: { local: 'yes' } } }, /local must be true or false/],
    [{ environments: { prod: { forceDestroy: 1 } } }, /forceDestroy must be true or false/],
    [{ environments: { prod: { taskRoleTrustedPrincipals: ['bob'] } } }, /taskRoleTrustedPrincipals holds "bob"/],
    [{ environments: { prod: { roles: { admin: { awsPrincipals: [] } } } } }, /unknown setting "admin"/],
    [{ environments: { prod: { roles: { ciPlan: {} } } } }, /roles.ciPlan trusts nobody/],
    [{ environments: { prod: { roles: { ciPlan: { oidc: { providerArn: GITHUB } } } } } }, /oidc.subjects must name at least one subject/],
    [{ environments: { prod: { breakGlassPrincipals: ['root'] } } }, /breakGlassPrincipals holds "root", which is not an IAM role/],
    [{ environments: { prod: { ecsClusterArn: 'production' } } }, /ecsClusterArn "production" is not an ECS cluster ARN/],
    [{ environments: { prod: { allowLoaderVariables: ['DB_PASSWORD'] } } }, /"DB_PASSWORD", which is not a loader variable/],
  ])('refuses %j with a message that says what is allowed', (raw, message) => {
    expect(() => parseSettings(raw).forEnv('prod')).toThrow(SettingsError);
    expect(() => parseSettings(raw).forEnv('prod')).toThrow(message);
  });

  it.each([
    ['*', GITHUB],
    ['repo:*', GITHUB],
    ['repo:acme/*', GITHUB],
    ['repo:*/app:ref:refs/heads/main', GITHUB],
    ['repo:acme/app', GITHUB],
    ['project_path:acme/*:ref_type:branch:ref:main', 'arn:aws:iam::111111111111:oidc-provider/gitlab.com'],
    ['sub:*', 'arn:aws:iam::111111111111:oidc-provider/oidc.example.com'],
    ['?*', 'arn:aws:iam::111111111111:oidc-provider/oidc.example.com'],
  ])('refuses the OIDC subject %j, which any repository could match (provider %s)', (subject, providerArn) => {
    const raw = { defaults: { roles: { deployer: { oidc: { providerArn, subjects: [subject] } } } } };
    expect(() => parseSettings(raw).forEnv('prod')).toThrow(/oidc.subjects holds .*(name an owner and a repository|name the repository)/);
  });

  it('accepts OIDC subjects that name the repository', () => {
    for (const subject of ['repo:acme/app:ref:refs/heads/main', 'repo:acme/app:pull_request', 'repo:acme/app:environment:production', 'repo:acme/app:*']) {
      expect(parseSettings({ defaults: { roles: { ciPlan: { oidc: { providerArn: GITHUB, subjects: [subject] } } } } }).forEnv('prod').roles.ciPlan?.oidc?.subjects).toEqual([subject]);
    }
  });

  it('reads operator role trusts: IAM principals and OIDC subjects', () => {
    const roles = parseSettings({ defaults: { roles: {
      deployer: { awsPrincipals: ['arn:aws:iam::111111111111:role/admin'] },
      ciPlan: { oidc: { providerArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com', subjects: ['repo:acme/app:*'] } },
    } } }).forEnv('prod').roles;
    expect(roles).toEqual({
      deployer: { awsPrincipals: ['arn:aws:iam::111111111111:role/admin'] },
      ciPlan: { awsPrincipals: [], oidc: {
        providerArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com', audience: 'sts.amazonaws.com', subjects: ['repo:acme/app:*'],
      } },
    });
  });

  it('refuses a settings file that is not JSON, naming the file', () => {
    const project = makeProject({ files: { 'kms-secrets.json': '{ region: eu-west-1 }' } });
    try {
      expect(() => loadSettings(project.root)).toThrow(/kms-secrets.json is not valid JSON/);
    } finally {
      project.remove();
    }
  });
});
