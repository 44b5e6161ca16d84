/**
 * One ECS task role per service: it lists and reads its own prefix and decrypts only ciphertext whose
 * encryption context names its own service and env — the key policy names it with that context, and
 * only ECS tasks of the env's own account (and cluster, when one is set) may assume it.
 */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import type { SecretsBucket } from './bucket.ts';
import { iamName } from './iam-names.ts';
import type { SecretsKey } from './key.ts';
import { policyDocument, type PolicyDocument } from './policy.ts';
import { ecsTaskTrust } from './trust.ts';

export interface ServiceAccessProps {
  readonly env: string;
  readonly service: string;
  readonly bucket: SecretsBucket;
  readonly key: SecretsKey;
  /** Principals trusted besides ecs-tasks.amazonaws.com. @default [] */
  readonly extraTrustedPrincipals?: readonly string[];
  /** Only tasks of this ECS cluster may assume the role. @default any cluster of the account */
  readonly ecsClusterArn?: string;
  /** Loader variables the env's settings let secrets set; the runtime is told through the task's environment. @default [] */
  readonly allowLoaderVariables?: readonly string[];
}

export class ServiceAccess extends Construct {
  readonly role: IamRole;
  /** The role's inline policy, as deployed. */
  readonly policy: PolicyDocument;

  constructor(scope: Construct, id: string, props: ServiceAccessProps) {
    super(scope, id);
    const { env, service, bucket, key } = props;
    this.role = new IamRole(this, 'role', {
      name: iamName(env, `task-${service}`),
      description: `kms-secrets: ECS task role of service ${service} in env ${env}; reads and decrypts its own secrets only`,
      assumeRolePolicy: JSON.stringify(ecsTaskTrust({
        account: key.accountId,
        ecsClusterArn: props.ecsClusterArn,
        extraPrincipals: props.extraTrustedPrincipals ?? [],
      })),
    });
    this.policy = policyDocument([...bucket.readServiceStatements(service), key.grantDecrypt(this.role.arn, service)]);
    new IamRolePolicy(this, 'secrets', { role: this.role.name, name: 'read-own-secrets', policy: JSON.stringify(this.policy) });

    // Everything a task definition needs besides the role; none of it is secret.
    new TerraformOutput(this, `service_${service.replace(/-/g, '_')}`, {
      staticId: true,
      value: {
        role_arn: this.role.arn,
        environment: {
          SECRETS_BUCKET: bucket.bucketName,
          SECRETS_ENV: env,
          SECRETS_SERVICES: service,
          ...(props.allowLoaderVariables?.length ? { SECRETS_ALLOW_LOADER_VARIABLES: props.allowLoaderVariables.join(',') } : {}),
        },
      },
      description: `Task role and environment of service ${service}`,
    });
  }
}
