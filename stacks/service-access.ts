/**
 * Who reads one service's secrets: a managed policy, `kms-secrets-<env>.read-<service>`, that lists and
 * reads the service's own prefix and its declared list, and decrypts only ciphertext whose encryption context
 * names that service and env; and the roles it is granted to. Attaching the policy is not enough on its own:
 * the key policy names every role that may decrypt, with the service's declared secret names, so `grant`
 * does both. By default the stack creates the task role
 * (`kms-secrets-<env>.task-<service>`), which only ECS tasks of the env's account (and cluster) may assume.
 */
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { Fn, Op, TerraformOutput, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { SecretsBucket } from './bucket.ts';
import { iamName } from './iam-names.ts';
import type { SecretsKey } from './key.ts';
import { policyDocument, type PolicyDocument } from './policy.ts';
import { ecsTaskTrust } from './trust.ts';

/** A role to grant to: an `IamRole` of the same app, or an existing role's name and ARN. */
export interface RoleLike {
  readonly name: string;
  readonly arn: string;
}

export interface ServiceAccessProps {
  readonly env: string;
  readonly service: string;
  /** The service's declared secret names: the only ones its roles may decrypt. */
  readonly secrets: readonly string[];
  readonly bucket: SecretsBucket;
  readonly key: SecretsKey;
  /**
   * `create`: the stack's own task role; a role: that existing role; `none`: only roles given to `grant`.
   * @default 'create'
   */
  readonly taskRole?: 'create' | 'none' | RoleLike;
  /** Principals the created task role trusts besides ecs-tasks.amazonaws.com. @default [] */
  readonly extraTrustedPrincipals?: readonly string[];
  /** Only tasks of this ECS cluster may assume the created task role. @default any cluster of the account */
  readonly ecsClusterArn?: string;
  /** Loader variables the env's settings let secrets set; the runtime is told through the task's environment. @default [] */
  readonly allowLoaderVariables?: readonly string[];
}

export class ServiceAccess extends Construct {
  /** The managed read policy, for any role to attach (through `grant`, so that the key policy names the role too). */
  readonly readPolicy: IamPolicy;
  /** Its document, as deployed. */
  readonly policy: PolicyDocument;
  /** The task role the stack created, when it did. */
  readonly role?: IamRole;
  private readonly service: string;
  private readonly secrets: readonly string[];
  private grants = 0;
  private readonly key: SecretsKey;

  constructor(scope: Construct, id: string, props: ServiceAccessProps) {
    super(scope, id);
    const { env, service, bucket, key } = props;
    this.service = service;
    this.secrets = props.secrets;
    this.key = key;
    // Decrypt on the key's ARN with the service's context. The declared names are the key policy's to check:
    // a managed policy holds 6,144 characters, too few for a service's names at 500 secrets.
    this.policy = policyDocument([...bucket.readServiceStatements(service), key.decryptStatement(service)]);
    this.readPolicy = new IamPolicy(this, 'read-policy', {
      name: iamName(env, `read-${service}`),
      description: `kms-secrets: read and decrypt the secrets of service ${service} in env ${env}, and nothing else`,
      policy: JSON.stringify(this.policy),
    });

    const taskRole = props.taskRole ?? 'create';
    if (taskRole === 'create') {
      this.role = new IamRole(this, 'role', {
        name: iamName(env, `task-${service}`),
        description: `kms-secrets: ECS task role of service ${service} in env ${env}; reads and decrypts its own secrets only`,
        assumeRolePolicy: JSON.stringify(ecsTaskTrust({
          account: key.accountId,
          ecsClusterArn: props.ecsClusterArn,
          extraPrincipals: props.extraTrustedPrincipals ?? [],
        })),
      });
      this.grant(this.role, 'attachment');
    } else if (taskRole !== 'none') {
      this.grant(taskRole, 'attachment');
    }

    // Everything a task definition needs besides the role; none of it is secret.
    const roleArn = taskRole === 'create' ? this.role!.arn : taskRole === 'none' ? undefined : taskRole.arn;
    new TerraformOutput(this, `service_${service.replace(/-/g, '_')}`, {
      staticId: true,
      value: {
        ...(roleArn ? { role_arn: roleArn } : {}),
        policy_arn: this.readPolicy.arn,
        environment: {
          SECRETS_BUCKET: bucket.bucketName,
          SECRETS_ENV: env,
          SECRETS_SERVICES: service,
          ...(props.allowLoaderVariables?.length ? { SECRETS_ALLOW_LOADER_VARIABLES: props.allowLoaderVariables.join(',') } : {}),
        },
      },
      description: `Task role, read policy and environment of service ${service}`,
    });
  }

  /**
   * Lets `role` read this service's secrets: attaches the read policy and names the role in the key policy.
   * `id` names the attachment in the construct tree (default: from the role's position among the grants).
   */
  grant(role: RoleLike, id = `grant-${this.grants + 1}`): IamRolePolicyAttachment {
    this.grants += 1;
    this.key.grantDecrypt(role.arn, this.service, this.secrets);
    return new IamRolePolicyAttachment(this, id, {
      role: role.name,
      policyArn: this.readPolicy.arn,
      // The key policy names role.arn, the attachment goes to the role of that name in the deploying account:
      // an ARN of the settings must be of that account, or the two would be different roles.
      ...(Token.isUnresolved(role.arn) ? {} : {
        lifecycle: {
          precondition: [{
            condition: Op.eq(Fn.element(Fn.split(':', role.arn), 4), this.key.accountId),
            errorMessage: `The role ${role.arn}, which reads service ${this.service}, is not in the account this stack deploys to, so the read policy cannot be attached to it. Name a role of the env's own account.`,
          }],
        },
      }),
    });
  }
}
