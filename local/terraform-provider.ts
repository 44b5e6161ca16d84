/**
 * How the Terraform AWS provider (5.100.0) is pointed at the local endpoint: an `endpoints` block for
 * every service the endpoint has, path-style S3, static test credentials, and no calls to the EC2
 * metadata service or region checks. The CDKTF stack and the Terraform tests use the same settings.
 */
import { DEFAULT_REGION } from './protocol.ts';

/** Credentials that act as the account's admin on the local endpoint. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

const SERVICES = ['s3', 'kms', 'iam', 'sts', 'ssm', 'secretsmanager', 'ecs'] as const;

/** The provider's arguments in CDKTF's camelCase (`new AwsProvider(this, 'aws', awsProviderConfig(url))`). */
export function awsProviderConfig(endpoint: string, region: string = DEFAULT_REGION) {
  return {
    region,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
    s3UsePathStyle: true,
    skipMetadataApiCheck: 'true',
    skipRegionValidation: true,
    endpoints: [Object.fromEntries(SERVICES.map((service) => [service, endpoint])) as Record<(typeof SERVICES)[number], string>],
  };
}

/**
 * Environment for a terraform or cdktf process next to that provider block. AWS_ENDPOINT_URL alone
 * also redirects the provider, but the block is explicit and keeps working when the variable is unset.
 */
export function terraformProviderEnv(endpoint: string, region: string = DEFAULT_REGION): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
