/** One S3 object per ciphertext file, uploaded from the file itself: Terraform never decrypts, so no
 * plaintext reaches the plan or the state, and CI plans without any KMS right. */
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';
import { Fn, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { relative } from 'node:path';
import { objectKey } from '../lib/naming.ts';
import type { SecretFile } from '../lib/tree.ts';
import { BUCKET_SSE, type SecretsBucket } from './bucket.ts';

export interface SecretObjectsProps {
  readonly bucket: SecretsBucket;
  readonly files: readonly SecretFile[];
  /**
   * The folder Terraform runs in for this stack. Sources are written relative to it, so the plan is the
   * same on every machine that checks out the repository.
   */
  readonly terraformDir: string;
  /** Each service's declared list: written before the service's objects, so a new object is never undeclared. @default none */
  readonly declaredLists?: ReadonlyMap<string, ITerraformDependable>;
}

export class SecretObjects extends Construct {
  readonly objects: readonly S3Object[];

  constructor(scope: Construct, id: string, props: SecretObjectsProps) {
    super(scope, id);
    const services = new Map<string, Construct>();
    this.objects = props.files.map((file) => {
      let service = services.get(file.service);
      if (!service) {
        service = new Construct(this, file.service);
        services.set(file.service, service);
      }
      const source = relative(props.terraformDir, file.path);
      return new S3Object(service, file.name, {
        bucket: props.bucket.bucket.id,
        key: objectKey(file),
        source,
        etag: Fn.filemd5(source),
        contentType: 'application/octet-stream',
        serverSideEncryption: BUCKET_SSE,
        dependsOn: [...props.bucket.configuration, ...[props.declaredLists?.get(file.service) ?? []].flat()],
      });
    });
  }
}
