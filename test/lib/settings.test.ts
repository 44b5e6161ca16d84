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
    [{ toolchain: 'terraform-cdk' }, /toolchain must be one of "cdktf", "cdktn", not "terraform-cdk"/],
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

  it('reads operator role trusts: IAM principals and OIDC subjects', () => {
    const roles = parseSettings({ defaults: { roles: {
      deployer: { awsPrincipals: ['arn:aws:iam::111111111111:role/admin'] },
      ciPlan: { oidc: { providerArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com', subjects: ['repo:acme/app:pull_request'] } },
    } } }).forEnv('prod').roles;
    expect(roles).toEqual({
      deployer: { awsPrincipals: ['arn:aws:iam::111111111111:role/admin'] },
      ciPlan: { awsPrincipals: [], oidc: {
        providerArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com', audience: 'sts.amazonaws.com', subjects: ['repo:acme/app:pull_request'],
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

describe('messages name the setting by its path, where it is written', () => {
  const refused = { keyAdministrators: ['alice'] };

  it('an env\'s own field: environments.<env>.<field>', () => {
    expect(() => parseSettings({ environments: { production: refused } }).forEnv('production'))
      .toThrow(/^settings: environments\.production\.keyAdministrators holds "alice"/);
  });

  it('a field the env takes from defaults: defaults.<field>, and the env it was resolved for', () => {
    expect(() => parseSettings({ defaults: refused }).forEnv('production'))
      .toThrow(/^settings \(env production\): defaults\.keyAdministrators holds "alice"/);
  });

  it('a nested field: the whole path, e.g. environments.production.roles.ciPlan.oidc.subjects', () => {
    const raw = { environments: { production: { roles: { ciPlan: { oidc: { providerArn: GITHUB, subjects: ['repo:acme/app:*'] } } } } } };
    expect(() => parseSettings(raw, 'kms-secrets.json').forEnv('production'))
      .toThrow(/^kms-secrets\.json: environments\.production\.roles\.ciPlan\.oidc\.subjects holds "repo:acme\/app:\*"/);
  });
});

describe('OIDC subjects: one rule for every issuer, an owner and a repository named without wildcards and no segment only wildcards', () => {
  const provider = (issuer: string) => `arn:aws:iam::111111111111:oidc-provider/${issuer}`;
  const issuers = [
    ['github.com', provider('token.actions.githubusercontent.com')],
    ['GitHub Enterprise Server', provider('ghes.example.com/_services/token')],
    ['GitHub Enterprise Cloud with its own issuer', provider('token.actions.githubusercontent.com/acme-corp')],
    ['gitlab.com', provider('gitlab.com')],
    ['self-hosted GitLab', provider('gitlab.example.com')],
    ['another provider', provider('oidc.example.com')],
  ];
  const subjectsOf = (providerArn: string, subject: string) =>
    parseSettings({ environments: { production: { roles: { ciPlan: { oidc: { providerArn, subjects: [subject] } } } } } }).forEnv('production').roles.ciPlan?.oidc?.subjects;

  const FORMS = /write "repo:<owner>\/<repo>:<what>" \(GitHub Actions, .*\) or "project_path:<group>\/<project>:<what>" \(GitLab, /;
  const WILDCARD_IN_REPOSITORY = /holds a wildcard, so every repository it matches could assume the role; name one, write "repo:/;
  const GITHUB_INSTEAD = /e\.g\. "repo:acme\/app:ref:refs\/heads\/main", "repo:acme\/app:environment:production" or "repo:acme\/app:pull_request"$/;

  describe.each(issuers)('%s', (_issuer, providerArn) => {
    it.each([
      'repo:acme/app:ref:refs/heads/main',
      'repo:acme/app:ref:refs/heads/*',
      'repo:acme/app:environment:production',
      'repo:acme/app:pull_request',
      'project_path:acme/app:ref_type:branch:ref:main',
      'project_path:acme/platform/app:ref_type:tag:ref:v*',
    ])('accepts %j', (subject) => {
      expect(subjectsOf(providerArn!, subject)).toEqual([subject]);
    });

    it.each([
      ['*', /names no repository; /, FORMS],
      ['*:*:*', /names no repository; /, FORMS],
      ['sub:*', /names no repository; /, FORMS],
      ['organization:acme:project:app:workspace:production', /names no repository; /, FORMS],
      ['repo:*', /its owner or repository "\*" holds a wildcard/, WILDCARD_IN_REPOSITORY],
      ['repo:acme/*:ref:refs/heads/main', /its owner or repository "acme\/\*"/, WILDCARD_IN_REPOSITORY],
      ['repo:*/app:ref:refs/heads/main', /its owner or repository "\*\/app"/, WILDCARD_IN_REPOSITORY],
      ['repo:acme/ap?:pull_request', /its owner or repository "acme\/ap\?"/, WILDCARD_IN_REPOSITORY],
      ['project_path:acme/*:ref_type:branch:ref:main', /its group or project "acme\/\*"/, WILDCARD_IN_REPOSITORY],
      ['project_path:**/app:ref_type:branch:ref:main', /its group or project "\*\*\/app"/, WILDCARD_IN_REPOSITORY],
      ['repo:acme:ref:refs/heads/main', /"acme" is not an <owner>\/<repo> path; /, FORMS],
      ['project_path:acme:ref_type:branch:ref:main', /"acme" is not a <group>\/<project> path; /, FORMS],
      ['repo:acme/app', /it does not say what of acme\/app may assume the role; /, GITHUB_INSTEAD],
      ['repo:acme/app:*', /its segment "\*" is only wildcards, so any branch, tag, pull request or environment of acme\/app could assume the role; /, GITHUB_INSTEAD],
      ['repo:acme/app:ref:*', /its segment "\*" is only wildcards/, GITHUB_INSTEAD],
      ['repo:acme/app:environment:**', /its segment "\*\*" is only wildcards/, GITHUB_INSTEAD],
      ['repo:acme/app:?', /its segment "\?" is only wildcards/, GITHUB_INSTEAD],
      ['project_path:acme/platform/app:ref_type:branch:ref:*', /its segment "\*" is only wildcards/,
        /e\.g\. "project_path:acme\/platform\/app:ref_type:branch:ref:main" or "project_path:acme\/platform\/app:ref_type:tag:ref:v1\.0\.0"$/],
    ])('refuses %j, saying why and what to write instead', (subject, why, instead) => {
      const parse = () => subjectsOf(providerArn!, subject);
      expect(parse).toThrow(SettingsError);
      expect(parse).toThrow(why);
      expect(parse).toThrow(instead);
    });
  });
});

describe('principal lists (keyAdministrators, breakGlassPrincipals, taskRoleTrustedPrincipals, roles.*.awsPrincipals) hold each principal once, without wildcards', () => {
  const ADMIN = 'arn:aws:iam::111122223333:role/platform-admin';
  const lists: [string, (arns: string[]) => object][] = [
    ['keyAdministrators', (arns) => ({ keyAdministrators: arns })],
    ['breakGlassPrincipals', (arns) => ({ breakGlassPrincipals: arns })],
    ['taskRoleTrustedPrincipals', (arns) => ({ taskRoleTrustedPrincipals: arns })],
    ['roles.deployer.awsPrincipals', (arns) => ({ roles: { deployer: { awsPrincipals: arns } } })],
  ];
  const parse = (env: object) => () => parseSettings({ environments: { production: env } }).forEnv('production');
  const at = (list: string) => `settings: environments.production.${list}`;

  describe.each(lists)('%s', (list, holding) => {
    it('accepts role and user ARNs', () => {
      expect(parse(holding([ADMIN, 'arn:aws:iam::111122223333:user/alice']))).not.toThrow();
    });

    it.each(['*', 'arn:aws:iam::111122223333:role/*', 'arn:aws:iam::111122223333:role/platform-?', 'arn:aws:iam::*:root'])('refuses the wildcard %j', (arn) => {
      expect(parse(holding([arn]))).toThrow(SettingsError);
      expect(parse(holding([arn]))).toThrow(`${at(list)} holds "${arn}": AWS refuses wildcards in the principal ARNs of key and trust policies; name each principal`);
    });

    it('refuses a principal given twice', () => {
      expect(parse(holding([ADMIN, ADMIN]))).toThrow(`${at(list)} holds "${ADMIN}" twice; list each principal once`);
    });
  });

  it('keyAdministrators refuses an account root ARN: in a key policy it hands administration to every principal IAM policies allow', () => {
    const refuse = parse({ keyAdministrators: ['arn:aws:iam::111122223333:root'] });
    expect(refuse).toThrow(SettingsError);
    expect(refuse).toThrow(/keyAdministrators holds "arn:aws:iam::111122223333:root", an account root ARN: in a key policy it means every principal of the account whose IAM policy allows it/);
    expect(refuse).toThrow(/Name the roles or users that administer the key, e\.g\. "arn:aws:iam::111122223333:role\/kms-admin"$/);
  });

  it('keyAdministrators refuses what is not a role or user ARN, saying so', () => {
    expect(parse({ keyAdministrators: ['arn:aws:iam::111122223333:group/admins'] })).toThrow(/holds "arn:aws:iam::111122223333:group\/admins", which is not an IAM role or user ARN$/);
  });

  it.each(lists.slice(1))('%s still accepts an account root ARN (trusting an account is not administering a key)', (_list, holding) => {
    expect(parse(holding(['arn:aws:iam::111122223333:root']))).not.toThrow();
  });
});

describe('services.<service>.taskRole', () => {
  const ACCOUNT = '111122223333';
  const taskRoleOf = (taskRole: string, env: object = {}) =>
    parseSettings({ environments: { production: { ...env, services: { api: { taskRole } } } } }).forEnv('production').services.api?.taskRole;
  const WHERE = 'settings: environments.production.services.api.taskRole';

  it('accepts a role name, which the stack resolves in the deploying account', () => {
    expect(taskRoleOf('app-api')).toEqual({ name: 'app-api' });
  });

  it('accepts an ARN of an account allowedAccountIds holds', () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/apps/app-api`;
    expect(taskRoleOf(arn, { allowedAccountIds: [ACCOUNT] })).toEqual({ name: 'app-api', arn });
  });

  it.each(['kms-secrets-production.deployer', 'KMS-Secrets-production.deployer', 'Kms-Secrets-staging.ci-plan', `arn:aws:iam::${ACCOUNT}:role/ops/KMS-SECRETS-production.task-api`])(
    'refuses the stack\'s own role name %j, compared without case as IAM compares names',
    (taskRole) => {
      expect(() => taskRoleOf(taskRole, { allowedAccountIds: [ACCOUNT] }))
        .toThrow(`${WHERE} "${taskRole}" is one of the stack's own role names (kms-secrets-…, in any case); name the app's own task role, or leave taskRole out`);
    },
  );

  it('refuses an ARN when allowedAccountIds is unset: the key policy and the read policy could name two different roles', () => {
    const refuse = () => taskRoleOf('arn:aws:iam::999999999999:role/apps/app-api');
    expect(refuse).toThrow(SettingsError);
    expect(refuse).toThrow(`${WHERE} "arn:aws:iam::999999999999:role/apps/app-api" is an ARN, which needs allowedAccountIds to hold its account 999999999999`);
    expect(refuse).toThrow('the key policy would name that ARN while the read policy would be attached to a same-named role of the deploying account');
    expect(refuse).toThrow(/Give the role's name \("app-api", when the role has no path\), or set allowedAccountIds to the env's account$/);
  });

  it('refuses an ARN of an account allowedAccountIds does not hold, saying why', () => {
    expect(() => taskRoleOf('arn:aws:iam::999999999999:role/app-api', { allowedAccountIds: [ACCOUNT] })).toThrow(
      `${WHERE} "arn:aws:iam::999999999999:role/app-api" is in account 999999999999, which allowedAccountIds (${ACCOUNT}) does not hold: `
      + 'the key policy would name that ARN while the read policy would be attached to a same-named role of the deploying account. Name a role of the env\'s account',
    );
  });
});
