/**
 * One environment's secrets infrastructure, as a construct for any cdktf stack: the KMS key and alias, the
 * hardened bucket, one object per ciphertext file, each service's declared list of secret names, a read
 * policy per service (granted to the stack's own task role, to the role the settings name, or to any role
 * through `grantRead`), and the operators' policies. The `EnvironmentStack` of this project is this construct in a stack of its own; another cdktf
 * app puts it in its stack beside its task definitions and grants its own roles.
 */
import type { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { KmsSecretsError } from '../lib/errors.ts';
import { partitionOf } from '../lib/partition.ts';
import { loadSettings, type EnvironmentSettings, type RoleReference } from '../lib/settings.ts';
import { loadSecretsTree, type SecretFile } from '../lib/tree.ts';
import { SecretsBucket } from './bucket.ts';
import { DeclaredSecrets } from './declared-secrets.ts';
import { SecretsKey } from './key.ts';
import { SecretObjects } from './objects.ts';
import { OperatorAccess } from './operator-access.ts';
import { ServiceAccess, type RoleLike } from './service-access.ts';

export interface SecretsEnvironmentProps {
  readonly env: string;
  readonly settings: EnvironmentSettings;
  /** The env's ciphertext files, checked by the tree model (`loadEnvironment` reads both from a project). */
  readonly files: readonly SecretFile[];
  /** The folder Terraform runs in for this stack. @default cdktf's: <app outdir>/stacks/<stack id> */
  readonly terraformDir?: string;
  /**
   * Create a task role per service (`kms-secrets-<env>.task-<service>`) unless the settings name one. Off:
   * only the roles of the settings and of `grantRead` read anything.
   * @default true
   */
  readonly createTaskRoles?: boolean;
}

/** An env's settings and checked ciphertext files, read from a project folder (kms-secrets.json and secrets/). */
export async function loadEnvironment(projectRoot: string, env: string): Promise<Pick<SecretsEnvironmentProps, 'env' | 'settings' | 'files'>> {
  const settings = loadSettings(projectRoot);
  const tree = await loadSecretsTree(projectRoot, settings);
  return { env, settings: settings.forEnv(env), files: tree.files.filter((file) => file.env === env) };
}

export class SecretsEnvironment extends Construct {
  readonly env: string;
  readonly key: SecretsKey;
  readonly bucket: SecretsBucket;
  readonly objects: SecretObjects;
  readonly declared: DeclaredSecrets;
  /** The read access of each service that has secrets, by service name. */
  readonly services: ReadonlyMap<string, ServiceAccess>;
  readonly operators: OperatorAccess;

  constructor(scope: Construct, id: string, props: SecretsEnvironmentProps) {
    super(scope, id);
    const { env, settings } = props;
    this.env = env;
    const wrongEnv = props.files.find((file) => file.env !== env);
    if (wrongEnv) throw new KmsSecretsError(`env "${env}" was given ${wrongEnv.path}, a secret of env "${wrongEnv.env}"`);
    const services = [...new Set(props.files.map((file) => file.service))].sort();
    const unknown = Object.keys(settings.services).filter((service) => !services.includes(service));
    if (unknown.length > 0) {
      throw new KmsSecretsError(`the settings of env ${env} name service${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which ${unknown.length === 1 ? 'has' : 'have'} no secrets in secrets/${env}/`, {
        hint: `services with secrets: ${services.join(', ') || 'none'}; fix the name, or encrypt a secret of the service first`,
      });
    }

    if (!settings.local && settings.keyAdministrators.length === 0) {
      throw new KmsSecretsError(`env ${env} names no keyAdministrators`, {
        hint: 'name the IAM roles that administer it (the first deploy, new names and services, key and bucket changes) in keyAdministrators: only they may create its key, and only they and the account\'s root user change it',
      });
    }
    // Names are infrastructure: each service receives exactly the secrets the tree has for it at synth.
    const declared = new Map(services.map((service) => [service, props.files.filter((file) => file.service === service).map((file) => file.name)]));

    const partition = partitionOf(settings.region);
    this.key = new SecretsKey(this, 'key', {
      env,
      alias: settings.keyAlias,
      partition,
      region: settings.region,
      administrators: settings.keyAdministrators,
      breakGlassPrincipals: settings.breakGlassPrincipals,
    });
    this.bucket = new SecretsBucket(this, 'bucket', {
      bucketName: settings.bucketName,
      partition,
      noncurrentVersionDays: settings.noncurrentVersionDays,
      vpcEndpointId: settings.vpcEndpointId,
      forceDestroy: settings.forceDestroy,
      services,
      administrators: [this.key.rootUserArn, ...settings.keyAdministrators],
      dependsOn: [this.key.key],
    });
    this.declared = new DeclaredSecrets(this, 'declared', { env, bucket: this.bucket, keyArn: this.key.key.arn, services: declared });
    this.objects = new SecretObjects(this, 'objects', {
      bucket: this.bucket,
      files: props.files,
      terraformDir: props.terraformDir ?? join(App.of(this).outdir, 'stacks', TerraformStack.of(this).node.id),
      declaredLists: this.declared.lists,
    });

    const createTaskRoles = props.createTaskRoles ?? true;
    this.services = new Map(services.map((service) => {
      const configured = settings.services[service]?.taskRole;
      return [service, new ServiceAccess(this, `service-${service}`, {
        env,
        service,
        secrets: declared.get(service)!,
        bucket: this.bucket,
        key: this.key,
        taskRole: configured ? existingRole(configured, partition, this.key.accountId) : createTaskRoles ? 'create' : 'none',
        extraTrustedPrincipals: settings.taskRoleTrustedPrincipals,
        ecsClusterArn: settings.ecsClusterArn,
        allowLoaderVariables: settings.allowLoaderVariables,
      })];
    }));
    this.operators = new OperatorAccess(this, 'operators', {
      env, partition, bucket: this.bucket, key: this.key, backend: settings.backend, roles: settings.roles,
    });

    new TerraformOutput(this, 'bucket_name', { staticId: true, value: this.bucket.bucket.bucket, description: 'SECRETS_BUCKET for the runtime' });
    new TerraformOutput(this, 'key_arn', { staticId: true, value: this.key.key.arn });
    new TerraformOutput(this, 'key_alias', { staticId: true, value: this.key.alias.name });
  }

  /**
   * Lets `role` read the secrets of `service`, and nothing else: attaches the service's read policy and
   * names the role in the key policy, which decides who decrypts. The role's trust policy stays the caller's.
   */
  grantRead(role: RoleLike, service: string): IamRolePolicyAttachment {
    const access = this.services.get(service);
    if (!access) {
      throw new KmsSecretsError(`env ${this.env} has no service "${service}" to grant`, {
        hint: `services with secrets: ${[...this.services.keys()].join(', ') || 'none'}`,
      });
    }
    return access.grant(role);
  }
}

/** A role of the settings, by ARN or by name in the env's account. */
function existingRole(reference: RoleReference, partition: string, accountId: string): RoleLike {
  return { name: reference.name, arn: reference.arn ?? `arn:${partition}:iam::${accountId}:role/${reference.name}` };
}
