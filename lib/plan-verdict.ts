/**
 * Who may apply a Terraform plan of an env's stack, read from `terraform show -json` of the saved plan. The
 * deployer's apply runs with rights to the env's ciphertext objects, and CI applies whatever plan passes, so
 * this is an allow-list: the deployer may apply a plan only when every change is a create or update of a
 * ciphertext object exactly as the stack makes it — in the env's bucket, under a declared `<service>/<name>`,
 * uploaded from secrets/<env>/<service>/<name> as that file is now, with no provisioner. Anything else, or
 * anything this cannot see, is an administrator's to apply. A plan that Terraform could not finish is no
 * verdict at all: it may be missing the very changes that matter.
 *
 * Deletes are an administrator's too: a `removed` block with a destroy-time provisioner shows in
 * `terraform show -json` as an ordinary delete (Terraform 1.11), and runs its command on apply. A deleted
 * secret changes its service's declared list anyway, which only an administrator applies.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DECLARED_PREFIX, DeclaredListError, declaredChange, declaredListKey, parseDeclaredList, serviceOfDeclaredListKey } from './declared.ts';
import { NamingError } from './errors.ts';
import { loaderVariableProblem } from './loader-variables.ts';
import { envVarName, parseSecretPath, type SecretRef } from './naming.ts';
import { printable } from './printable.ts';

/** What the verdict needs besides the plan. */
export interface PlanContext {
  readonly env: string;
  /** The env's bucket, from the settings (`forEnv(env).bucketName`). */
  readonly bucketName: string;
  readonly projectRoot: string;
  /** Where Terraform runs for the env (cdktf.out/stacks/<env>): object sources are relative to it. */
  readonly stackDir: string;
  /** The MD5 (hex) of the regular file at an absolute path in the tree, or undefined when there is none. */
  readonly readFileMd5: (path: string) => string | undefined;
  /** Loader variables the env's settings allow a secret to set. @default [] */
  readonly allowLoaderVariables?: readonly string[];
  /** The env lives on the local endpoint: its provider points there. @default false */
  readonly local?: boolean;
}

export interface PlannedChange {
  /** e.g. `aws_iam_role.service-billing_role_1A2B3C4D` */
  readonly address: string;
  readonly type: string;
  /** `create`, `update`, `delete`, `replace`, `forget`, `read`, `import` or `move` (the last two when nothing else changes). */
  readonly action: string;
}

/** One reason an administrator must apply the plan. */
export interface Refusal {
  /** A resource address, or `provider <name>`. */
  readonly subject: string;
  /** The change's action, or `drift` / `deferred`. */
  readonly action: string;
  /** What is wrong, in plain words; undefined when being another resource than a ciphertext object says it all. */
  readonly reason?: string;
}

export interface PlanVerdict {
  /** Every change the plan makes, in plan order. */
  readonly changes: readonly PlannedChange[];
  /** The changes that are ciphertext objects the deployer may write. */
  readonly ciphertextChanges: readonly PlannedChange[];
  /** Why an administrator must apply the plan; empty: the deployer may apply it. */
  readonly needsAdministrator: readonly Refusal[];
}

/** The JSON is not a Terraform plan. */
export class PlanFormatError extends Error {}

/** The JSON is a plan Terraform did not finish (errored or incomplete): it may lack changes, so it has no verdict. */
export class UnusablePlanError extends Error {}

const AWS_PROVIDER = 'registry.terraform.io/hashicorp/aws';
const OBJECT_TYPE = 'aws_s3_object';

type Values = Readonly<Record<string, unknown>>;

/** A resource change of Terraform's JSON plan representation (format_version 1.x), as far as it is read here. */
interface ResourceChange {
  readonly address: string;
  readonly previous_address?: string;
  readonly module_address?: string;
  readonly mode: string;
  readonly type: string;
  readonly name: string;
  readonly provider_name: string;
  readonly change: {
    readonly actions: readonly string[];
    readonly before?: Values | null;
    readonly after?: Values | null;
    readonly after_unknown?: Values;
    readonly importing?: { readonly id?: string };
  };
}

interface ConfigResource {
  readonly address: string;
  readonly provisioners?: readonly { readonly type: string }[];
}

interface StateResource {
  readonly mode: string;
  readonly type: string;
  readonly provider_name: string;
  readonly values?: Values;
}

interface JsonPlan {
  readonly errored: boolean;
  readonly complete?: boolean;
  readonly resource_changes?: readonly ResourceChange[];
  readonly resource_drift?: readonly ResourceChange[];
  /** The attributes of drifted resources that the plan's changes read (each a path, e.g. ["id"]). */
  readonly relevant_attributes?: readonly { readonly resource: string; readonly attribute: readonly unknown[] }[];
  readonly deferred_changes?: readonly { readonly reason?: string; readonly resource_change: ResourceChange }[];
  readonly prior_state?: { readonly values?: { readonly root_module?: { readonly resources?: readonly StateResource[] } } };
  readonly configuration: {
    readonly provider_config?: Readonly<Record<string, { readonly full_name?: string; readonly alias?: string; readonly expressions?: Readonly<Record<string, unknown>> }>>;
    readonly root_module?: { readonly resources?: readonly ConfigResource[] };
  };
}

/** Who may apply `plan`, the parsed output of `terraform show -json <plan file>`. */
export function planVerdict(plan: unknown, context: PlanContext): PlanVerdict {
  const checked = asUsablePlan(plan);
  const declared = deployedDeclaredLists(checked, context);
  const configs = new Map((checked.configuration.root_module?.resources ?? []).map((resource) => [resource.address, resource]));
  const changes: PlannedChange[] = [];
  const ciphertextChanges: PlannedChange[] = [];
  const needsAdministrator: Refusal[] = [...providerRefusals(checked, context)];
  for (const resource of checked.resource_changes ?? []) {
    const action = actionOf(resource);
    if (action === undefined) continue;
    const change = { address: resource.address, type: resource.type, action };
    changes.push(change);
    const reasons = changeProblems(resource, action, { ...context, declared, configs });
    if (reasons.length === 0) ciphertextChanges.push(change);
    needsAdministrator.push(...reasons.map((reason) => ({ subject: resource.address, action, reason })));
  }
  // Drift that bears on no change is what every refresh after an apply fills in (tags {}, attachment counts, the
  // key's first policy): applying records it and changes nothing. Drift of an attribute a change reads (Terraform's
  // relevant_attributes) is someone's change outside Terraform, which only an administrator may take on.
  for (const resource of checked.resource_drift ?? []) {
    if (isCiphertextObject(resource, context) || !driftBearsOnPlan(resource, checked.relevant_attributes ?? [])) continue;
    needsAdministrator.push({ subject: resource.address, action: 'drift', reason: driftReason(resource) });
  }
  for (const deferred of checked.deferred_changes ?? []) {
    if (isCiphertextObject(deferred.resource_change, context)) continue;
    needsAdministrator.push({ subject: deferred.resource_change.address, action: 'deferred', reason: `Terraform deferred it to a later plan (${printable(String(deferred.reason ?? 'no reason given'))})` });
  }
  return { changes, ciphertextChanges, needsAdministrator };
}

/** The plan, checked to be a plan Terraform finished, with the parts read here in the expected shape. */
function asUsablePlan(plan: unknown): JsonPlan {
  const notAPlan = (what: string) => new PlanFormatError(`not the JSON of a Terraform plan (terraform show -json <plan file>, format_version 1.x): ${what}`);
  if (!isObject(plan) || typeof plan.format_version !== 'string' || !plan.format_version.startsWith('1.')) throw notAPlan('no format_version 1.x');
  if (!isObject(plan.planned_values) || !isObject(plan.configuration)) throw notAPlan('no planned_values or configuration (a state?)');
  if (typeof plan.errored !== 'boolean') throw notAPlan('no "errored" field (Terraform >= 1.10 writes it)');
  if (plan.errored) throw new UnusablePlanError('Terraform reported errors while planning (errored), so the plan may lack changes');
  if (plan.complete === false) throw new UnusablePlanError('the plan is incomplete (complete: false): Terraform deferred changes to a later plan');
  for (const field of ['resource_changes', 'resource_drift'] as const) {
    const list = plan[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw notAPlan(`${field} is not a list`);
    list.forEach((entry, i) => {
      if (!isResourceChange(entry)) throw notAPlan(`${field}[${i}] is not a resource change`);
    });
  }
  const deferred = plan.deferred_changes;
  if (deferred !== undefined && (!Array.isArray(deferred) || !deferred.every((entry) => isObject(entry) && isResourceChange(entry.resource_change)))) {
    throw notAPlan('deferred_changes is not a list of resource changes');
  }
  return plan as unknown as JsonPlan;
}

function isResourceChange(entry: unknown): boolean {
  if (!isObject(entry) || !isObject(entry.change)) return false;
  const actions = entry.change.actions;
  return ['address', 'mode', 'type', 'name', 'provider_name'].every((field) => typeof entry[field] === 'string')
    && Array.isArray(actions) && actions.length > 0 && actions.every((action) => typeof action === 'string');
}

/** One word for what a change does; undefined when it writes nothing (a no-op that neither imports nor moves). */
function actionOf(resource: ResourceChange): string | undefined {
  const actions = resource.change.actions;
  if (actions.includes('forget')) return 'forget';
  if (actions.includes('create') && actions.includes('delete')) return 'replace';
  if (actions.length === 1 && ['create', 'update', 'delete', 'read'].includes(actions[0]!)) return actions[0];
  if (actions.some((action) => action !== 'no-op')) return actions.join('+');
  if (resource.change.importing) return 'import';
  if (resource.previous_address !== undefined) return 'move';
  return undefined;
}

interface CheckContext extends PlanContext {
  /** The names each service's deployed list declares, or why its list cannot be read. */
  readonly declared: ReadonlyMap<string, readonly string[] | string>;
  readonly configs: ReadonlyMap<string, ConfigResource>;
}

/** Why the deployer may not apply `resource`'s change; empty when it may. */
function changeProblems(resource: ResourceChange, action: string, context: CheckContext): (string | undefined)[] {
  const how = blockProblems(resource, action);
  if (resource.mode !== 'managed' || resource.type !== OBJECT_TYPE) return how.length > 0 ? how : [undefined];
  if (resource.provider_name !== AWS_PROVIDER) return [...how, `an ${OBJECT_TYPE} of provider ${printable(resource.provider_name)}, not of hashicorp/aws`];
  const removes = action === 'delete' || action === 'forget';
  const values = (removes ? resource.change.before : resource.change.after) ?? {};
  const key = values.key;
  const problems = [...how];
  if (action === 'replace') problems.push('it is replaced (deleted and created again); the deployer only creates and updates objects');
  if (action === 'delete') problems.push('it is deleted; a removed block with a destroy-time provisioner looks exactly like this in the plan, so only an administrator deletes objects');
  problems.push(...bucketProblems(values.bucket, context));
  if (typeof key === 'string' && key.startsWith(DECLARED_PREFIX)) {
    problems.push(...declaredListChange(resource, key, context));
  } else {
    problems.push(...ciphertextProblems(resource, action, values, context));
  }
  problems.push(...provisionerProblems(resource, removes, context));
  return problems;
}

/** `removed`, `import` and `moved` blocks, on any resource: each changes what Terraform manages, an administrator's decision. */
function blockProblems(resource: ResourceChange, action: string): string[] {
  const problems: string[] = [];
  if (action === 'forget') problems.push('a removed block takes it out of Terraform\'s state without destroying it');
  if (resource.change.importing) problems.push(`an import block brings an existing object under Terraform (id ${printable(String(resource.change.importing.id ?? 'unknown'))})`);
  if (resource.previous_address !== undefined) problems.push(`a moved block moves it here from ${printable(resource.previous_address)}`);
  return problems;
}

function bucketProblems(bucket: unknown, context: PlanContext): string[] {
  if (bucket === context.bucketName) return [];
  if (typeof bucket !== 'string') return [`its bucket is not known until apply, so it cannot be shown to be ${context.bucketName}`];
  return [`bucket ${printable(bucket)} is not ${context.bucketName}, the bucket of env ${context.env}`];
}

/** What a ciphertext object's change gets wrong: its key, its declaration, its source, its etag, inline content. */
function ciphertextProblems(resource: ResourceChange, action: string, values: Values, context: CheckContext): string[] {
  const key = values.key;
  if (typeof key !== 'string') return ['its key is not known until apply'];
  const ref = secretOfKey(key, context.env);
  if (typeof ref === 'string') return [ref];
  const problems: string[] = [];
  const loader = loaderVariableProblem(envVarName(ref.name), context.allowLoaderVariables);
  if (loader) problems.push(`key ${key}: ${loader}`);
  const declared = context.declared.get(ref.service);
  if (declared === undefined) problems.push(`${key} is not declared: service ${ref.service} has no deployed list of names (${declaredListKey(ref.service)} in the prior state)`);
  else if (typeof declared === 'string') problems.push(`${key} cannot be checked against its service's declared names: ${declared}`);
  else if (!declared.includes(ref.name)) problems.push(`${key} is not declared: the deployed list of service ${ref.service} does not name ${ref.name}`);

  const file = `secrets/${context.env}/${key}`;
  const source = values.source;
  if (typeof source !== 'string') problems.push(`it has no source file${resource.change.after_unknown?.source === true ? ' known until apply' : ''}; a ciphertext object is uploaded from ${file}`);
  else if (resolve(context.stackDir, source) !== resolve(context.projectRoot, file)) problems.push(`source ${printable(source)} is not ${file}`);
  if (action === 'delete' || action === 'forget') return problems;

  const md5 = context.readFileMd5(resolve(context.projectRoot, file));
  const etag = values.etag;
  if (md5 === undefined) problems.push(`${file} is not a regular file in the tree`);
  else if (typeof etag !== 'string') problems.push(`its etag is not known until apply, so it cannot be shown to be the MD5 of ${file}`);
  else if (etag !== md5) problems.push(`etag ${printable(etag)} is not the MD5 of ${file} as it is in the tree`);
  const inline = ['content', 'content_base64'].filter((field) => (values[field] ?? null) !== null || resource.change.after_unknown?.[field] === true);
  if (inline.length > 0) problems.push(`it carries its bytes in the plan (${inline.join(', ')}) instead of uploading ${file}`);
  return [...problems, ...settingProblems(values)];
}

/** What the stack sets on a ciphertext object besides its bucket, key, source and etag. */
const OBJECT_SETTINGS: Readonly<Record<string, unknown>> = { content_type: 'application/octet-stream', server_side_encryption: 'AES256', storage_class: 'STANDARD' };
/** What the provider computes, or what the checks above look at. */
const OBJECT_COMPUTED = new Set(['arn', 'id', 'version_id', 'tags_all', 'checksum_crc32', 'checksum_crc32c', 'checksum_crc64nvme', 'checksum_sha1',
  'checksum_sha256', 'bucket', 'key', 'source', 'etag', 'content', 'content_base64']);

/**
 * Every other setting an object could be given (a storage class it cannot be read from, a website redirect,
 * metadata, tags, an ACL, a KMS key…) is the provider's default, or the object is not one the stack makes.
 */
function settingProblems(values: Values): string[] {
  const problems: string[] = [];
  for (const [field, value] of Object.entries(values)) {
    if (OBJECT_COMPUTED.has(field) || value === undefined) continue;
    if (field in OBJECT_SETTINGS) {
      if (value !== null && value !== OBJECT_SETTINGS[field]) problems.push(`${field} is ${printable(JSON.stringify(value))}, not ${String(OBJECT_SETTINGS[field])} as the stack sets it`);
    } else if (!isDefault(value)) {
      problems.push(`it sets ${printable(field)}, which the stack never sets`);
    }
  }
  return problems;
}

function isDefault(value: unknown): boolean {
  return value === null || value === '' || value === false || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
}

/** The secret an object key names, or why it names none. */
function secretOfKey(key: string, env: string): SecretRef | string {
  try {
    return parseSecretPath(env, key);
  } catch (error) {
    if (!(error instanceof NamingError)) throw error;
    return printable(`key ${key} is not a secret's <service>/<name>: ${error.message}`);
  }
}

function provisionerProblems(resource: ResourceChange, removes: boolean, context: CheckContext): string[] {
  const config = resource.module_address === undefined ? context.configs.get(`${resource.type}.${resource.name}`) : undefined;
  // A deleted resource has no configuration left to run a provisioner from (a removed block's is not shown: see above).
  if (!config) return removes ? [] : ['its configuration is not among the root module\'s resources, so it cannot be shown to have no provisioner'];
  return (config.provisioners ?? []).map((provisioner) => `the configuration gives it a ${printable(String(provisioner.type))} provisioner, which would run with the deployer's credentials on apply`);
}

/** A change of a service's declared list, said by the variables it gives or takes away. */
function declaredListChange(resource: ResourceChange, key: string, context: PlanContext): string[] {
  const service = serviceOfDeclaredListKey(key);
  if (service === undefined) return [`${printable(key)} is under ${DECLARED_PREFIX} but is no service's declared list`];
  const where = `s3://${context.bucketName}/${key}`;
  const read = (values: Values | null | undefined, when: string): readonly string[] | string | undefined => {
    if (!values) return undefined;
    if (typeof values.content !== 'string') return `the ${when} declared list of service ${service} is not known from the plan`;
    try {
      return parseDeclaredList(values.content, { env: context.env, service }, where).secrets;
    } catch (error) {
      if (!(error instanceof DeclaredListError)) throw error;
      return `the ${when} declared list of service ${service} cannot be read: ${error.message}`;
    }
  };
  const variables = (names: readonly string[]) => names.map(envVarName).join(', ');
  const after = read(resource.change.after, 'planned');
  const stale = staleStateList(resource.change.before, service);
  if (stale) return [typeof after === 'object' ? `${stale}; this plan writes one with the variables ${variables(after)}` : stale];
  const before = read(resource.change.before, 'deployed');
  for (const list of [before, after]) if (typeof list === 'string') return [list];
  if (before === undefined) return [`service ${service} is new, with the variables ${variables(after as readonly string[])}`];
  if (after === undefined) return [`service ${service} is no longer declared: it loses the variables ${variables(before as readonly string[])}`];
  const { gained, lost } = declaredChange(before as readonly string[], after as readonly string[]);
  const the = (names: string[]) => `the variable${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
  const reasons = [
    ...(gained.length > 0 ? [`service ${service} gains ${the(gained)}`] : []),
    ...(lost.length > 0 ? [`service ${service} loses ${the(lost)}`] : []),
  ];
  return reasons.length > 0 ? reasons : [`the declared list of service ${service} changes, though not its variables`];
}

/**
 * Why a list object's state is not what the bucket holds, or undefined. The provider never reads an object's
 * content back, and a refused update saves the planned content in the state; the etag (the MD5 of the content,
 * which the stack sets and a refresh reads back) tells.
 */
function staleStateList(values: Values | null | undefined, service: string): string | undefined {
  if (typeof values?.content !== 'string' || typeof values.etag !== 'string') return undefined;
  if (createHash('md5').update(values.content).digest('hex') === values.etag) return undefined;
  return `the state's declared list of service ${service} is not the one in the bucket (its etag is not the MD5 of its content: an apply that was refused leaves the planned list in the state)`;
}

/** Each service's declared names, from its list object in the prior state: what an administrator deployed. */
function deployedDeclaredLists(plan: JsonPlan, context: PlanContext): Map<string, readonly string[] | string> {
  const lists = new Map<string, readonly string[] | string>();
  for (const resource of plan.prior_state?.values?.root_module?.resources ?? []) {
    if (resource.mode !== 'managed' || resource.type !== OBJECT_TYPE || resource.provider_name !== AWS_PROVIDER) continue;
    const { bucket, key, content } = resource.values ?? {};
    const service = typeof key === 'string' ? serviceOfDeclaredListKey(key) : undefined;
    if (bucket !== context.bucketName || service === undefined || lists.has(service)) continue;
    const stale = staleStateList(resource.values, service);
    if (stale) {
      lists.set(service, stale);
      continue;
    }
    try {
      lists.set(service, parseDeclaredList(String(content), { env: context.env, service }, `s3://${context.bucketName}/${key as string}`).secrets);
    } catch (error) {
      if (!(error instanceof DeclaredListError)) throw error;
      lists.set(service, error.message);
    }
  }
  return lists;
}

/** A ciphertext object of the env's bucket, as drift and deferral may concern without an administrator. */
function isCiphertextObject(resource: ResourceChange, context: PlanContext): boolean {
  const values = resource.change.after ?? resource.change.before ?? {};
  return resource.mode === 'managed' && resource.type === OBJECT_TYPE && resource.provider_name === AWS_PROVIDER
    && values.bucket === context.bucketName && typeof values.key === 'string' && !values.key.startsWith(DECLARED_PREFIX);
}

function driftedAttributes(resource: ResourceChange): string[] {
  const { before, after } = resource.change;
  return Object.keys({ ...before, ...after }).filter((field) => JSON.stringify(before?.[field]) !== JSON.stringify(after?.[field])).sort();
}

/** Whether an attribute that drifted (or the whole resource, deleted) is one a planned change reads. */
function driftBearsOnPlan(resource: ResourceChange, relevant: NonNullable<JsonPlan['relevant_attributes']>): boolean {
  const read = relevant.filter((entry) => entry.resource === resource.address).map((entry) => String(entry.attribute[0] ?? ''));
  if (read.length === 0) return false;
  if (!resource.change.after) return true;
  const drifted = driftedAttributes(resource);
  return read.some((attribute) => attribute === '' || drifted.includes(attribute));
}

function driftReason(resource: ResourceChange): string {
  const { after } = resource.change;
  const advice = 'a change the plan acts on: an administrator finds out who made it before anything is applied';
  if (!after) return `deleted outside Terraform since the last apply; ${advice}`;
  return `changed outside Terraform since the last apply (${driftedAttributes(resource).map(printable).join(', ')}); ${advice}`;
}

/** The settings the stack gives its one hashicorp/aws provider; endpoints only for a local env. */
const PROVIDER_SETTINGS = new Set(['region', 'allowed_account_ids', 'default_tags', 'access_key', 'secret_key', 'skip_credentials_validation',
  'skip_requesting_account_id', 'skip_metadata_api_check', 'skip_region_validation', 's3_use_path_style', 'endpoints']);
const LOOPBACK_URL = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/;

/**
 * The providers the configuration sets up: exactly the stack's own, hashicorp/aws without an alias and with only
 * the settings the stack writes. A provider is a program that runs on apply with the deployer's credentials, and
 * its settings can run more (a profile's credential_process), or send those credentials elsewhere (endpoints,
 * assume_role, a proxy, a CA bundle).
 */
function providerRefusals(plan: JsonPlan, context: PlanContext): Refusal[] {
  const refusals: Refusal[] = [];
  for (const [name, provider] of Object.entries(plan.configuration.provider_config ?? {})) {
    const refuse = (reason: string) => refusals.push({ subject: `provider ${printable(name)}`, action: 'configured', reason });
    if (provider.full_name !== AWS_PROVIDER) {
      refuse(`${printable(String(provider.full_name ?? 'of unknown source'))} is not hashicorp/aws, the only provider of the stack`);
      continue;
    }
    if (name !== 'aws' || provider.alias !== undefined) refuse('a second configuration of hashicorp/aws; the stack has one, without an alias');
    const settings = Object.keys(provider.expressions ?? {});
    const foreign = settings.filter((setting) => !PROVIDER_SETTINGS.has(setting) || (setting === 'endpoints' && !context.local));
    if (foreign.length > 0) refuse(`it sets ${foreign.map(printable).join(', ')}, which the stack never sets${context.local ? '' : ' for an env on AWS'}`);
    const endpoints = context.local ? endpointUrls(provider.expressions?.endpoints) : [];
    const elsewhere = endpoints.filter((url) => typeof url !== 'string' || !LOOPBACK_URL.test(url));
    if (elsewhere.length > 0) refuse(`its endpoints point away from the local endpoint on loopback (${elsewhere.map((url) => printable(String(url))).join(', ')})`);
  }
  return refusals;
}

/** The constant values of a provider's `endpoints` block (anything not constant counts as elsewhere). */
function endpointUrls(expression: unknown): unknown[] {
  const blocks = Array.isArray(expression) ? expression : [];
  return blocks.flatMap((block) => (isObject(block) ? Object.values(block).map((value) => (isObject(value) ? value.constant_value : value)) : [block]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
