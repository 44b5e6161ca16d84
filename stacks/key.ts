/** The environment's KMS key, with rotation on, and its alias. */
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';

export interface SecretsKeyProps {
  readonly env: string;
  /** e.g. alias/kms-secrets/staging */
  readonly alias: string;
  /** Days before a key scheduled for deletion is deleted. @default 30 */
  readonly deletionWindowInDays?: number;
}

export class SecretsKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    this.key = new KmsKey(this, 'key', {
      description: `kms-secrets: encrypts the secrets of env ${props.env}`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
    });
    this.alias = new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: this.key.keyId });
  }
}
