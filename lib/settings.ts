/**
 * Per-environment settings, read from kms-secrets.json at the project root. Every field is optional:
 * a fresh clone synthesizes with the defaults below. Unknown fields are errors, so a typo is not ignored.
 *
 * {
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
    /** Allowed `sub` claims, each naming an owner and repository, e.g. "repo:acme/app:ref:refs/heads/main". */
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
  /** The service's task role is this existing role instead of one the stack creates. @default the stack creates kms-secrets-<env>.task-<service> */
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
  /** IAM ARNs that administer the key (never use it). @default [] (the account root only) */
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
  /** The env a command uses when neither --env nor SECRETS_ENV is given. @default "staging" */
  readonly defaultEnv: string;
  /** The settings of one environment, defaults filled in. */
  forEnv(env: string): EnvironmentSettings;
}

type RawEnvironment = Partial<Record<keyof EnvironmentSettings, unknown>>;

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
  rejectUnknown(top, ['defaultEnv', 'defaults', 'environments'], source);
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
    defaultEnv,
    forEnv(env: string): EnvironmentSettings {
      assertEnvName(env);
      let settings = cache.get(env);
      if (!settings) {
        settings = resolveEnvironment(env, { ...defaults, ...perEnv.get(env) }, `${source} (env ${env})`);
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

function resolveEnvironment(env: string, raw: RawEnvironment, where: string): EnvironmentSettings {
  const region = raw.region === undefined ? 'us-east-1' : asString(raw.region, `${where}: region`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new SettingsError(`${where}: region "${region}" is not an AWS region such as eu-west-1`);
  const bucketPrefix = raw.bucketPrefix === undefined ? 'kms-secrets-' : asString(raw.bucketPrefix, `${where}: bucketPrefix`);
  const bucketName = `${bucketPrefix}${env}-secrets`;
  checkBucketName(bucketName, `${where}: bucketPrefix`);
  const allowedAccountIds = stringList(raw.allowedAccountIds, `${where}: allowedAccountIds`);
  for (const id of allowedAccountIds) {
    if (!/^\d{12}$/.test(id)) throw new SettingsError(`${where}: allowedAccountIds holds "${id}", which is not a 12-digit account id`);
  }
  const keyAdministrators = stringList(raw.keyAdministrators, `${where}: keyAdministrators`);
  checkPrincipals(keyAdministrators, `${where}: keyAdministrators`);
  const taskRoleTrustedPrincipals = stringList(raw.taskRoleTrustedPrincipals, `${where}: taskRoleTrustedPrincipals`);
  checkPrincipals(taskRoleTrustedPrincipals, `${where}: taskRoleTrustedPrincipals`);
  const breakGlassPrincipals = stringList(raw.breakGlassPrincipals, `${where}: breakGlassPrincipals`);
  checkPrincipals(breakGlassPrincipals, `${where}: breakGlassPrincipals`);
  const ecsClusterArn = raw.ecsClusterArn === undefined ? undefined : asString(raw.ecsClusterArn, `${where}: ecsClusterArn`);
  if (ecsClusterArn !== undefined && !/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/.test(ecsClusterArn)) {
    throw new SettingsError(`${where}: ecsClusterArn "${ecsClusterArn}" is not an ECS cluster ARN such as arn:aws:ecs:eu-west-1:111111111111:cluster/production`);
  }
  const allowLoaderVariables = stringList(raw.allowLoaderVariables, `${where}: allowLoaderVariables`);
  for (const variable of allowLoaderVariables) {
    if (!loaderVariableGroup(variable)) throw new SettingsError(`${where}: allowLoaderVariables holds "${variable}", which is not a loader variable, so there is nothing to allow`);
  }
  const noncurrentVersionDays = raw.noncurrentVersionDays === undefined ? 30 : raw.noncurrentVersionDays;
  if (typeof noncurrentVersionDays !== 'number' || !Number.isInteger(noncurrentVersionDays) || noncurrentVersionDays < 1) {
    throw new SettingsError(`${where}: noncurrentVersionDays must be a whole number of days, at least 1`);
  }
  let vpcEndpointId: string | undefined;
  if (raw.vpcEndpointId !== undefined) {
    vpcEndpointId = asString(raw.vpcEndpointId, `${where}: vpcEndpointId`);
    if (!/^vpce-[0-9a-f]+$/.test(vpcEndpointId)) throw new SettingsError(`${where}: vpcEndpointId "${vpcEndpointId}" is not a vpce-… id`);
  }
  const local = readBoolean(raw.local, `${where}: local`);
  const forceDestroy = readBoolean(raw.forceDestroy, `${where}: forceDestroy`);
  const keyAlias = raw.keyAlias === undefined ? `alias/kms-secrets/${env}` : asString(raw.keyAlias, `${where}: keyAlias`);
  if (!/^alias\/[A-Za-z0-9/_-]+$/.test(keyAlias) || keyAlias.startsWith('alias/aws/')) {
    throw new SettingsError(`${where}: keyAlias "${keyAlias}" must be alias/<name> with letters, digits, "/", "_" and "-" (not alias/aws/…)`);
  }
  return {
    region, bucketPrefix, bucketName, allowedAccountIds, keyAdministrators, noncurrentVersionDays, vpcEndpointId,
    backend: readBackend(raw.backend, `${where}: backend`), local, keyAlias, forceDestroy, taskRoleTrustedPrincipals,
    ecsClusterArn, breakGlassPrincipals, allowLoaderVariables, roles: readRoles(raw.roles, `${where}: roles`),
    services: readServices(raw.services, { region, allowedAccountIds }, `${where}: services`),
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
  // The stack's own roles are operators (deployer, CI, developers), who must never read a secret.
  if (name.startsWith('kms-secrets-')) {
    throw new SettingsError(`${where} "${text}" is one of the stack's own role names (kms-secrets-…); name the app's own task role, or leave taskRole out for the stack to create one`);
  }
  if (arn) {
    const partition = partitionOf(region);
    if (arn[1] !== partition) throw new SettingsError(`${where} "${text}" is in partition ${arn[1]}, but region ${region} is in ${partition}`);
    if (allowedAccountIds.length > 0 && !allowedAccountIds.includes(arn[2]!)) {
      throw new SettingsError(`${where} "${text}" is in account ${arn[2]}, which allowedAccountIds (${allowedAccountIds.join(', ')}) does not hold; a role of another account cannot have the env's policy attached`);
    }
  }
  return arn ? { name, arn: text } : { name };
}

function readBoolean(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new SettingsError(`${where} must be true or false`);
  return value;
}

function checkPrincipals(arns: readonly string[], where: string): void {
  for (const arn of arns) {
    if (!IAM_PRINCIPAL.test(arn)) throw new SettingsError(`${where} holds "${arn}", which is not an IAM role, user or root ARN`);
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
    const problem = oidcSubjectProblem(providerArn, subject);
    if (problem) throw new SettingsError(`${where}.oidc.subjects holds "${subject}": ${problem}`);
  }
  const audience = oidc.audience === undefined ? 'sts.amazonaws.com' : asString(oidc.audience, `${where}.oidc.audience`);
  return { awsPrincipals, oidc: { providerArn, audience, subjects } };
}

/**
 * Why an OIDC subject would let more than one repository assume the role, or undefined. GitHub and GitLab
 * subjects must name owner and repository without wildcards (`repo:acme/app:…`, `project_path:acme/app:…`);
 * for any provider, a subject that is only wildcards, or only a claim name and a wildcard, is refused.
 */
function oidcSubjectProblem(providerArn: string, subject: string): string | undefined {
  const host = providerArn.replace(/^.*:oidc-provider\//, '');
  const repository = {
    'token.actions.githubusercontent.com': { pattern: /^repo:[^*?/:]+\/[^*?/:]+:./, example: 'repo:acme/app:ref:refs/heads/main' },
    'gitlab.com': { pattern: /^project_path:[^*?:]+\/[^*?:]+:./, example: 'project_path:acme/app:ref_type:branch:ref:main' },
  }[host];
  if (repository && !repository.pattern.test(subject)) {
    return `it must name an owner and a repository without wildcards and then what may assume the role, e.g. "${repository.example}"`;
  }
  if (/^([^:]*:)?[*?]*$/.test(subject)) return 'a wildcard subject lets every repository of the provider assume the role; name the repository';
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
