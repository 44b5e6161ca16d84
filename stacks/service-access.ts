/**
 * One ECS task role per service (DESIGN.md D6): it lists and reads its own prefix and decrypts only
 * ciphertext whose encryption context names its own service and env.
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
      assumeRolePolicy: JSON.stringify(ecsTaskTrust(props.extraTrustedPrincipals ?? [])),
    });
    this.policy = policyDocument([...bucket.readServiceStatements(service), key.decryptStatement(service)]);
    new IamRolePolicy(this, 'secrets', { role: this.role.name, name: 'read-own-secrets', policy: JSON.stringify(this.policy) });

    // Everything a task definition needs besides the role; none of it is secret.
    new TerraformOutput(this, `service_${service.replace(/-/g, '_')}`, {
      staticId: true,
      value: {
        role_arn: this.role.arn,
        environment: { SECRETS_BUCKET: bucket.bucketName, SECRETS_ENV: env, SECRETS_SERVICES: service },
      },
      description: `Task role and environment of service ${service}`,
    });
  }
}
