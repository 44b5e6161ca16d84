/**
 * Per-environment settings, read from kms-secrets.json at the project root. Every field is optional:
 * a fresh clone synthesizes with the defaults below. Unknown fields are errors, so a typo is not ignored.
 *
 * {
 *   "toolchain": "cdktn",
 *   "defaultEnv": "staging",
 *   "defaults": { "region": "eu-west-1", "bucketPrefix": "acme-" },
 *   "environments": {
 *     "production": { "allowedAccountIds": ["111111111111"], "services": { "api": { "taskRole": "api-task" } } },
 *     "demo": { "local": true }
 *   }
 * }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError } from './errors.ts';
import { loaderVariableGroup } from './loader-variables.ts';
import { assertEnvName, envOrServiceProblem } from './naming.ts';
import { partitionOf } from './partition.ts';
import { readToolchain, type Toolchain } from './toolchain.ts';

export const SETTINGS_FILE = 'kms-secrets.json';

/** Where Terraform keeps an environment's state. */
export type BackendSettings =
  | { readonly type: 'local' }
  /** S3 state with S3-native locking; the state key is `<keyPrefix>/<env>.tfstate`. */
  | { readonly type: 's3'; readonly bucket: string; readonly keyPrefix: string; readonly region?: string };

/** Who may assume an operator role: IAM principals, and/or an OIDC identity provider such as GitHub Actions. */
export interface RoleTrust {
  /** IAM ARNs (accounts, roles, users) trusted to assume the role. @default [] */
  readonly awsPrincipals: readonly string[];
  /** Web identity federation, e.g. GitHub Actions' token.actions.githubusercontent.com. @default none */
  readonly oidc?: {
    readonly providerArn: string;
    /** @default "sts.amazonaws.com" */
    readonly audience: string;
    /**
     * Allowed `sub` claims, whatever the issuer: `repo:<owner>/<repo>:<what>` (GitHub) or `project_path:<group>/<project>:<what>`
     * (GitLab), with no wildcard in the repository and no segment that is only wildcards, e.g. "repo:acme/app:ref:refs/heads/main".
     */
    readonly subjects: readonly string[];
  };
}

/** An existing IAM role, by name (in the env's account) or by ARN (needed when the role has a path). */
export interface RoleReference {
  readonly name: string;
  /** The ARN as given; absent when only the name was. */
  readonly arn?: string;
}

/** What the settings say of one service of an env. */
export interface ServiceSettings {
  /**
   * The service's task role is this existing role instead of one the stack creates: its name (in the deploying account),
   * or its ARN, whose account must be one of allowedAccountIds. @default the stack creates kms-secrets-<env>.task-<service>
   */
  readonly taskRole?: RoleReference;
}

/** The operator roles the stack creates when a trust is given; their managed policies exist either way. */
export interface OperatorRoles {
  readonly deployer?: RoleTrust;
  readonly ciPlan?: RoleTrust;
  readonly developer?: RoleTrust;
}

export interface EnvironmentSettings {
  /** Region of the environment's key and bucket. @default "us-east-1" */
  readonly region: string;
  /** The bucket is named `<bucketPrefix><env>-secrets`; bucket names are global, so make it yours. @default "kms-secrets-" */
  readonly bucketPrefix: string;
  /** `<bucketPrefix><env>-secrets`: the bucket the stack creates and the runtime, `status` and CI read. */
  readonly bucketName: string;
  /** The AWS provider refuses any other account (allowed_account_ids). @default [] (any account) */
  readonly allowedAccountIds: readonly string[];
  /**
   * IAM role or user ARNs that administer the env (the first deploy, new names and services, the key's policy, alias,
   * rotation and deletion); only they and the account's root user may. They never use the key. Required for an
   * env on AWS; a local env's default is the endpoint's root user alone. @default []
   */
  readonly keyAdministrators: readonly string[];
  /** Days a replaced or deleted ciphertext version is kept in the bucket. @default 30 */
  readonly noncurrentVersionDays: number;
  /** When set, object reads and writes must come through this VPC endpoint (aws:sourceVpce). @default none */
  readonly vpcEndpointId?: string;
  /** @default { "type": "local" } (state/<env>.tfstate) */
  readonly backend: BackendSettings;
  /** The environment lives on the embedded local endpoint (demo, tests): its ciphertext format is accepted. @default false */
  readonly local: boolean;
  /** The KMS alias of the environment's key. @default "alias/kms-secrets/<env>" */
  readonly keyAlias: string;
  /**
   * Lets `cdktf destroy` delete the bucket with every ciphertext version in it (force_destroy).
   * @default false: destroying an env whose bucket holds versions fails, on purpose
   */
  readonly forceDestroy: boolean;
  /** Principals trusted by every service's task role besides ecs-tasks.amazonaws.com. @default [] */
  readonly taskRoleTrustedPrincipals: readonly string[];
  /** Only ECS tasks of this cluster may assume the task roles (aws:SourceArn). @default any cluster of the account */
  readonly ecsClusterArn?: string;
  /** IAM ARNs the key policy lets decrypt every secret of the env, for emergencies and reencrypt. @default [] */
  readonly breakGlassPrincipals: readonly string[];
  /** Loader variables (LD_PRELOAD, NODE_OPTIONS, …) a secret may set after all; see lib/loader-variables.ts. @default [] */
  readonly allowLoaderVariables: readonly string[];
  /** Operator roles to create, by who may assume them. @default {} (managed policies only) */
  readonly roles: OperatorRoles;
  /** Settings per service, e.g. its own task role. @default {} */
  readonly services: Readonly<Record<string, ServiceSettings>>;
}

export interface Settings {
  /** The CDK the project synthesizes and deploys with (lib/toolchain.ts). @default "cdktf" */
  readonly toolchain: Toolchain;
  /** The env a command uses when neither --env nor SECRETS_ENV is given. @default "staging" */
  readonly defaultEnv: string;
  /** The settings of one environment, defaults filled in. */
  forEnv(env: string): EnvironmentSettings;
}

type RawEnvironment = Partial<Record<keyof EnvironmentSettings, unknown>>;
/** Where an env's field is written, for messages: `<source>: environments.<env>.<field>`, or its `defaults.<field>`. */
type FieldPath = (field: keyof EnvironmentSettings) => string;

const ENV_FIELDS: readonly (keyof EnvironmentSettings)[] = [
  'region', 'bucketPrefix', 'allowedAccountIds', 'keyAdministrators', 'noncurrentVersionDays', 'vpcEndpointId',
  'backend', 'local', 'keyAlias', 'forceDestroy', 'taskRoleTrustedPrincipals', 'ecsClusterArn', 'breakGlassPrincipals',
  'allowLoaderVariables', 'roles', 'services',
];
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+)$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** Reads the settings of the project at `projectRoot`; no file means all defaults. */
export function loadSettings(projectRoot: string): Settings {
  const file = join(projectRoot, SETTINGS_FILE);
  if (!existsSync(file)) return parseSettings({}, SETTINGS_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SettingsError(`${SETTINGS_FILE} is not valid JSON: ${(error as Error).message}`);
  }
  return parseSettings(raw, SETTINGS_FILE);
}

/** Validates settings given as a value (tests and the demo build them in code). */
export function parseSettings(raw: unknown, source = 'settings'): Settings {
  const top = asObject(raw, source);
  rejectUnknown(top, ['toolchain', 'defaultEnv', 'defaults', 'environments'], source);
  const toolchain = readToolchain(top.toolchain, source);
  const defaultEnv = top.defaultEnv === undefined ? 'staging' : asString(top.defaultEnv, `${source}: defaultEnv`);
  assertEnvName(defaultEnv);
  const defaults = readEnvironment(top.defaults ?? {}, `${source}: defaults`);
  // A role is one service's in one env: a default for every env would hand it every env's secrets.
  if (defaults.services !== undefined) throw new SettingsError(`${source}: defaults: "services" belongs to an env (environments.<env>.services)`);
  const environments = asObject(top.environments ?? {}, `${source}: environments`);
  const perEnv = new Map<string, RawEnvironment>();
  for (const [env, value] of Object.entries(environments)) {
    assertEnvName(env);
    perEnv.set(env, readEnvironment(value, `${source}: environments.${env}`));
  }
  const cache = new Map<string, EnvironmentSettings>();
  return {
    toolchain,
    defaultEnv,
    forEnv(env: string): EnvironmentSettings {
      assertEnvName(env);
      let settings = cache.get(env);
      if (!settings) {
        const own = perEnv.get(env) ?? {};
        const at: FieldPath = (field) => own[field] === undefined && defaults[field] !== undefined
          ? `${source} (env ${env}): defaults.${field}`
          : `${source}: environments.${env}.${field}`;
        settings = resolveEnvironment(env, { ...defaults, ...own }, at);
        cache.set(env, settings);
      }
      return settings;
    },
  };
}

function readEnvironment(value: unknown, where: string): RawEnvironment {
  const object = asObject(value, where);
  rejectUnknown(object, ENV_FIELDS, where);
  return object as RawEnvironment;
}

function resolveEnvironment(env: string, raw: RawEnvironment, at: FieldPath): EnvironmentSettings {
  const region = raw.region === undefined ? 'us-east-1' : asString(raw.region, at('region'));
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new SettingsError(`${at('region')} "${region}" is not an AWS region such as eu-west-1`);
  const bucketPrefix = raw.bucketPrefix === undefined ? 'kms-secrets-' : asString(raw.bucketPrefix, at('bucketPrefix'));
  const bucketName = `${bucketPrefix}${env}-secrets`;
  checkBucketName(bucketName, at('bucketPrefix'));
  const allowedAccountIds = stringList(raw.allowedAccountIds, at('allowedAccountIds'));
  for (const id of allowedAccountIds) {
    if (!/^\d{12}$/.test(id)) throw new SettingsError(`${at('allowedAccountIds')} holds "${id}", which is not a 12-digit account id`);
  }
  const keyAdministrators = stringList(raw.keyAdministrators, at('keyAdministrators'));
  checkPrincipals(keyAdministrators, at('keyAdministrators'), { root: false });
  const taskRoleTrustedPrincipals = stringList(raw.taskRoleTrustedPrincipals, at('taskRoleTrustedPrincipals'));
  checkPrincipals(taskRoleTrustedPrincipals, at('taskRoleTrustedPrincipals'));
  const breakGlassPrincipals = stringList(raw.breakGlassPrincipals, at('breakGlassPrincipals'));
  checkPrincipals(breakGlassPrincipals, at('breakGlassPrincipals'));
  const ecsClusterArn = raw.ecsClusterArn === undefined ? undefined : asString(raw.ecsClusterArn, at('ecsClusterArn'));
  if (ecsClusterArn !== undefined && !/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/.test(ecsClusterArn)) {
    throw new SettingsError(`${at('ecsClusterArn')} "${ecsClusterArn}" is not an ECS cluster ARN such as arn:aws:ecs:eu-west-1:111111111111:cluster/production`);
  }
  const allowLoaderVariables = stringList(raw.allowLoaderVariables, at('allowLoaderVariables'));
  for (const variable of allowLoaderVariables) {
    if (!loaderVariableGroup(variable)) throw new SettingsError(`${at('allowLoaderVariables')} holds "${variable}", which is not a loader variable, so there is nothing to allow`);
  }
  const noncurrentVersionDays = raw.noncurrentVersionDays === undefined ? 30 : raw.noncurrentVersionDays;
  if (typeof noncurrentVersionDays !== 'number' || !Number.isInteger(noncurrentVersionDays) || noncurrentVersionDays < 1) {
    throw new SettingsError(`${at('noncurrentVersionDays')} must be a whole number of days, at least 1`);
  }
  let vpcEndpointId: string | undefined;
  if (raw.vpcEndpointId !== undefined) {
    vpcEndpointId = asString(raw.vpcEndpointId, at('vpcEndpointId'));
    if (!/^vpce-[0-9a-f]+$/.test(vpcEndpointId)) throw new SettingsError(`${at('vpcEndpointId')} "${vpcEndpointId}" is not a vpce-… id`);
  }
  const local = readBoolean(raw.local, at('local'));
  const forceDestroy = readBoolean(raw.forceDestroy, at('forceDestroy'));
  const keyAlias = raw.keyAlias === undefined ? `alias/kms-secrets/${env}` : asString(raw.keyAlias, at('keyAlias'));
  if (!/^alias\/[A-Za-z0-9/_-]+$/.test(keyAlias) || keyAlias.startsWith('alias/aws/')) {
    throw new SettingsError(`${at('keyAlias')} "${keyAlias}" must be alias/<name> with letters, digits, "/", "_" and "-" (not alias/aws/…)`);
  }
  return {
    region, bucketPrefix, bucketName, allowedAccountIds, keyAdministrators, noncurrentVersionDays, vpcEndpointId,
    backend: readBackend(raw.backend, at('backend')), local, keyAlias, forceDestroy, taskRoleTrustedPrincipals,
    ecsClusterArn, breakGlassPrincipals, allowLoaderVariables, roles: readRoles(raw.roles, at('roles')),
    services: readServices(raw.services, { region, allowedAccountIds }, at('services')),
  };
}

function readServices(value: unknown, context: { region: string; allowedAccountIds: readonly string[] }, where: string): Record<string, ServiceSettings> {
  if (value === undefined) return {};
  const services: Record<string, ServiceSettings> = {};
  for (const [service, raw] of Object.entries(asObject(value, where))) {
    const problem = envOrServiceProblem('service', service);
    if (problem) throw new SettingsError(`${where}: ${problem}`);
    const object = asObject(raw, `${where}.${service}`);
    rejectUnknown(object, ['taskRole'], `${where}.${service}`);
    services[service] = object.taskRole === undefined ? {} : { taskRole: readTaskRole(object.taskRole, context, `${where}.${service}.taskRole`) };
  }
  return services;
}

/** An existing role's name or ARN, refused where it could not be the env's task role. */
function readTaskRole(value: unknown, { region, allowedAccountIds }: { region: string; allowedAccountIds: readonly string[] }, where: string): RoleReference {
  const text = asString(value, where);
  const arn = ROLE_ARN.exec(text);
  if (!arn && !ROLE_NAME.test(text)) {
    throw new SettingsError(`${where} "${text}" is neither an IAM role name nor a role ARN such as arn:aws:iam::111122223333:role/api-task`);
  }
  const name = arn ? arn[3]! : text;
  // The stack's own roles are operators (deployer, CI, developers), who must never read a secret. IAM names are
  // unique regardless of case, so KMS-Secrets-staging.deployer is the stack's deployer.
  if (name.toLowerCase().startsWith('kms-secrets-')) {
    throw new SettingsError(`${where} "${text}" is one of the stack's own role names (kms-secrets-…, in any case); name the app's own task role, or leave taskRole out for the stack to create one`);
  }
  if (!arn) return { name };
  const partition = partitionOf(region);
  if (arn[1] !== partition) throw new SettingsError(`${where} "${text}" is in partition ${arn[1]}, but region ${region} is in ${partition}`);
  // The read policy is attached by name in the deploying account, while the key policy names the ARN as given:
  // for a role of another account the two would be different roles.
  const mismatch = 'the key policy would name that ARN while the read policy would be attached to a same-named role of the deploying account';
  if (allowedAccountIds.length === 0) {
    throw new SettingsError(`${where} "${text}" is an ARN, which needs allowedAccountIds to hold its account ${arn[2]}: otherwise, deployed to another account, ${mismatch}. Give the role's name ("${name}", when the role has no path), or set allowedAccountIds to the env's account`);
  }
  if (!allowedAccountIds.includes(arn[2]!)) {
    throw new SettingsError(`${where} "${text}" is in account ${arn[2]}, which allowedAccountIds (${allowedAccountIds.join(', ')}) does not hold: ${mismatch}. Name a role of the env's account`);
  }
  return { name, arn: text };
}

function readBoolean(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new SettingsError(`${where} must be true or false`);
  return value;
}

/** A list of IAM principals: each a role, user or (unless `root` is false) account root ARN, once, without wildcards. */
function checkPrincipals(arns: readonly string[], where: string, { root = true } = {}): void {
  const kinds = root ? 'an IAM role, user or root ARN' : 'an IAM role or user ARN';
  const seen = new Set<string>();
  for (const arn of arns) {
    if (/[*?]/.test(arn)) {
      throw new SettingsError(`${where} holds "${arn}": AWS refuses wildcards in the principal ARNs of key and trust policies; name each principal, e.g. "arn:aws:iam::111122223333:role/platform"`);
    }
    if (!IAM_PRINCIPAL.test(arn)) throw new SettingsError(`${where} holds "${arn}", which is not ${kinds}`);
    if (!root && arn.endsWith(':root')) {
      throw new SettingsError(`${where} holds "${arn}", an account root ARN: in a key policy it means every principal of the account whose IAM policy allows it, the IAM-delegated key administration this stack does not grant. Name the roles or users that administer the key, e.g. "${arn.replace(/:root$/, ':role/kms-admin')}"`);
    }
    if (seen.has(arn)) throw new SettingsError(`${where} holds "${arn}" twice; list each principal once`);
    seen.add(arn);
  }
}

function readRoles(value: unknown, where: string): OperatorRoles {
  if (value === undefined) return {};
  const object = asObject(value, where);
  rejectUnknown(object, ['deployer', 'ciPlan', 'developer'], where);
  const roles: Record<string, RoleTrust> = {};
  for (const [name, trust] of Object.entries(object)) roles[name] = readTrust(trust, `${where}.${name}`);
  return roles;
}

function readTrust(value: unknown, where: string): RoleTrust {
  const object = asObject(value, where);
  rejectUnknown(object, ['awsPrincipals', 'oidc'], where);
  const awsPrincipals = stringList(object.awsPrincipals, `${where}.awsPrincipals`);
  checkPrincipals(awsPrincipals, `${where}.awsPrincipals`);
  if (object.oidc === undefined) {
    if (awsPrincipals.length === 0) throw new SettingsError(`${where} trusts nobody: give awsPrincipals and/or oidc`);
    return { awsPrincipals };
  }
  const oidc = asObject(object.oidc, `${where}.oidc`);
  rejectUnknown(oidc, ['providerArn', 'audience', 'subjects'], `${where}.oidc`);
  const providerArn = asString(oidc.providerArn, `${where}.oidc.providerArn`);
  if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+$/.test(providerArn)) {
    throw new SettingsError(`${where}.oidc.providerArn "${providerArn}" is not an IAM OIDC provider ARN`);
  }
  const subjects = stringList(oidc.subjects, `${where}.oidc.subjects`);
  // Without a subject condition any repository of the provider could assume the role.
  if (subjects.length === 0) throw new SettingsError(`${where}.oidc.subjects must name at least one subject, e.g. "repo:acme/app:ref:refs/heads/main"`);
  for (const subject of subjects) {
    const problem = oidcSubjectProblem(subject);
    if (problem) throw new SettingsError(`${where}.oidc.subjects holds "${subject}": ${problem}`);
  }
  const audience = oidc.audience === undefined ? 'sts.amazonaws.com' : asString(oidc.audience, `${where}.oidc.audience`);
  return { awsPrincipals, oidc: { providerArn, audience, subjects } };
}

const SUBJECT_FORMS = 'write "repo:<owner>/<repo>:<what>" (GitHub Actions, e.g. "repo:acme/app:ref:refs/heads/main") '
  + 'or "project_path:<group>/<project>:<what>" (GitLab, subgroups allowed, e.g. "project_path:acme/app:ref_type:branch:ref:main")';

/**
 * Why an OIDC subject would let more than one repository, or anything of one, assume the role; undefined when it names
 * them. One rule for every issuer: GitHub Enterprise Server, an enterprise's own GitHub issuer and a self-hosted GitLab
 * sign the same subjects as github.com and gitlab.com, and another provider's subjects are refused rather than guessed at.
 * Sources: docs.github.com OIDC reference (iss https://HOSTNAME/_services/token on GHES, https://token.actions.githubusercontent.com/<enterpriseSlug> with an enterprise's unique issuer); docs.gitlab.com/ci/secrets/id_token_authentication (sub project_path:{group}/{project}:ref_type:{type}:ref:{branch_name}).
 */
function oidcSubjectProblem(subject: string): string | undefined {
  const [claim, path, ...rest] = subject.split(':');
  const github = claim === 'repo';
  if ((!github && claim !== 'project_path') || path === undefined) return `it names no repository; ${SUBJECT_FORMS}`;
  if (/[*?]/.test(path)) {
    return `its ${github ? 'owner or repository' : 'group or project'} "${path}" holds a wildcard, so every repository it matches could assume the role; name one, ${SUBJECT_FORMS}`;
  }
  const parts = path.split('/');
  if ((github ? parts.length !== 2 : parts.length < 2) || parts.includes('')) {
    return `"${path}" is not ${github ? 'an <owner>/<repo>' : 'a <group>/<project>'} path; ${SUBJECT_FORMS}`;
  }
  const examples = github
    ? [`repo:${path}:ref:refs/heads/main`, `repo:${path}:environment:production`, `repo:${path}:pull_request`]
    : [`project_path:${path}:ref_type:branch:ref:main`, `project_path:${path}:ref_type:tag:ref:v1.0.0`];
  const quoted = examples.map((example) => `"${example}"`);
  const instead = `e.g. ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
  if (rest.length === 0 || rest.includes('')) return `it does not say what of ${path} may assume the role; ${instead}`;
  const wildcard = rest.find((segment) => /^[*?]+$/.test(segment));
  if (wildcard !== undefined) {
    return `its segment "${wildcard}" is only wildcards, so any branch, tag, pull request or environment of ${path} could assume the role; say which, ${instead}`;
  }
  return undefined;
}

function readBackend(value: unknown, where: string): BackendSettings {
  if (value === undefined) return { type: 'local' };
  const object = asObject(value, where);
  if (object.type === 'local') {
    rejectUnknown(object, ['type'], where);
    return { type: 'local' };
  }
  if (object.type === 's3') {
    rejectUnknown(object, ['type', 'bucket', 'keyPrefix', 'region'], where);
    const bucket = asString(object.bucket, `${where}.bucket`);
    checkBucketName(bucket, `${where}.bucket`);
    const keyPrefix = object.keyPrefix === undefined ? 'kms-secrets' : asString(object.keyPrefix, `${where}.keyPrefix`);
    const region = object.region === undefined ? undefined : asString(object.region, `${where}.region`);
    return { type: 's3', bucket, keyPrefix: keyPrefix.replace(/\/+$/, ''), region };
  }
  throw new SettingsError(`${where}: type must be "local" or "s3"`);
}

function checkBucketName(name: string, where: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..')) {
    throw new SettingsError(`${where}: bucket name "${name}" is not a valid S3 bucket name (3-63 characters: a-z, 0-9, "." and "-")`);
  }
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SettingsError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new SettingsError(`${where} must be a non-empty string`);
  return value;
}

function stringList(value: unknown, where: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new SettingsError(`${where} must be a list of strings`);
  return value as string[];
}

function rejectUnknown(object: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new SettingsError(`${where}: unknown setting "${key}"; allowed: ${allowed.join(', ')}`);
  }
}
