/** What the demo says while Terraform works: read from Terraform's own lines, as cdktf prints them. */
import { expect, test } from 'vitest';
import { TerraformProgress } from '../../scripts/local-project.ts';

test('names the phase, then the resources in flight, and (once) why the lifecycle rule takes a minute', () => {
  const progress = new TerraformProgress();
  expect(progress.describe()).toBe('synthesizing the stack');

  progress.read('demo  Initializing the backend...\n');
  expect(progress.describe()).toBe('terraform init');

  progress.read([
    'demo  aws_kms_key.key_BD9C4B1E: Creating...',
    'demo  aws_s3_bucket.bucket_8F2B1C3D: Creating...',
    'demo  aws_s3_bucket.bucket_8F2B1C3D: Creation complete after 1s [id=kms-secrets-demo-secrets]',
    'demo  aws_s3_bucket_lifecycle_configuration.bucket_lifecycle_1A2B3C4D: Creating...',
  ].join('\n'));
  expect(progress.describe()).toBe('1 done, waiting for aws_kms_key.key, aws_s3_bucket_lifecycle_configuration.bucket_lifecycle'
    + ' (the AWS provider polls a new lifecycle rule until it reads back the same for a while: about a minute, on AWS too)');
  expect(progress.describe(), 'the reason is given once').toBe('1 done, waiting for aws_kms_key.key, aws_s3_bucket_lifecycle_configuration.bucket_lifecycle');

  progress.read('demo  aws_kms_key.key_BD9C4B1E: Creation complete after 2s [id=1234]\ndemo  aws_s3_bucket_lifecycle_configuration.bucket_lifecycle_1A2B3C4D: Creation complete after 55s\n');
  expect(progress.describe()).toBe('applying, 3 done');
});
