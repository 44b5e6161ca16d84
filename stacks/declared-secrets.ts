/**
 * One object per service naming the secrets it receives (lib/declared.ts): the list the runtime checks every
 * object against before it asks KMS, as the key policy checks every decryption. It is derived from the tree at
 * synth and only administrators may write it, so a new name is an administrator's apply: the runtime learns
 * it without a task definition change, and no writer can add one. It names the env's key too, the only one
 * the runtime decrypts under.
 */
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { declaredListContent, declaredListKey } from '../lib/declared.ts';
import { BUCKET_SSE, type SecretsBucket } from './bucket.ts';

/** Stands for the key's ARN in the list whose MD5 Terraform computes: no name may hold a space or "<". */
const KEY_ARN_PLACEHOLDER = '<the key ARN>';

export interface DeclaredSecretsProps {
  readonly env: string;
  readonly bucket: SecretsBucket;
  /** The env's key, which the runtime decrypts under and no other. */
  readonly keyArn: string;
  /** Service → its secret names. */
  readonly services: ReadonlyMap<string, readonly string[]>;
}

export class DeclaredSecrets extends Construct {
  /** The list object of each service. */
  readonly lists: ReadonlyMap<string, S3Object>;

  constructor(scope: Construct, id: string, props: DeclaredSecretsProps) {
    super(scope, id);
    this.lists = new Map([...props.services].map(([service, secrets]) => [service, new S3Object(this, service, {
      bucket: props.bucket.bucket.id,
      key: declaredListKey(service),
      content: declaredListContent({ env: props.env, service, secrets, keyArn: props.keyArn }),
      // The provider never reads an object's content back, and a refused update (the deployer applying an
      // administrator's plan) leaves the planned content in the state; the etag, which a refresh reads, tells
      // the next plan the list is not in the bucket. The key's ARN is known only at apply: Terraform puts it in.
      etag: Fn.md5(Fn.replace(Fn.rawString(declaredListContent({ env: props.env, service, secrets, keyArn: KEY_ARN_PLACEHOLDER })), KEY_ARN_PLACEHOLDER, props.keyArn)),
      contentType: 'application/json',
      serverSideEncryption: BUCKET_SSE,
      dependsOn: [...props.bucket.configuration],
    })]));
  }
}
