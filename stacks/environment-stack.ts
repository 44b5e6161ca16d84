/**
 * One environment = one stack with its own state: the env's `SecretsEnvironment` (key, bucket, objects,
 * roles, outputs), its backend and provider, and a Terraform variable `env` that refuses any environment
 * but its own. Terraform cannot choose a state from a variable, so the env is chosen by stack name
 * (`cdktf deploy staging`), and `--var env` can only confirm it.
 */
import { AwsProvider, type AwsProviderEndpoints } from '@cdktf/provider-aws/lib/provider/index.js';
import { Fn, LocalBackend, S3Backend, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { KmsSecretsError } from '../lib/errors.ts';
import type { EnvironmentSettings } from '../lib/settings.ts';
import type { SecretFile } from '../lib/tree.ts';
import { SecretsEnvironment } from './secrets-environment.ts';

export interface EnvironmentStackProps {
  readonly env: string;
  readonly settings: EnvironmentSettings;
  /** The env's ciphertext files, checked by the tree model. */
  readonly files: readonly SecretFile[];
  /** Absolute project root: local state lives in <projectRoot>/state/<env>.tfstate. */
  readonly projectRoot: string;
  /** The folder Terraform runs in for this stack (cdktf.out/stacks/<env>). */
  readonly terraformDir: string;
  /** The local endpoint's URL, required when settings.local is true. @default process.env.AWS_ENDPOINT_URL */
  readonly localEndpoint?: string;
}

export class EnvironmentStack extends TerraformStack {
  readonly secrets: SecretsEnvironment;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id);
    const { env, settings } = props;
    configureBackend(this, props);
    const offlinePlan = new TerraformVariable(this, 'offline_plan', {
      type: 'bool',
      default: false,
      description: 'Plan a new environment with no AWS credentials and no AWS calls (a tree check for CI); never for apply.',
    });
    // Terraform cannot pick a state from a variable, so `--var env` can only confirm the stack's own env.
    const envVariable = new TerraformVariable(this, 'env', {
      type: 'string',
      default: env,
      description: 'The environment this stack deploys; only its own name is accepted.',
      validation: [{
        condition: `\${var.env == "${env}"}`,
        errorMessage: `This is the "${env}" stack, but env is "\${var.env}". Each environment has its own stack and state: run cdktf deploy \${var.env} (or cdktf deploy ${env} without --var env).`,
      }],
    });

    // The provider's default tags name var.env (the same value, once it is valid): so the provider waits for
    // the check, and a wrong --var env stops before anything is refreshed, its message first, not after
    // a line per resource.
    new AwsProvider(this, 'aws', { ...providerConfig(props, envVariable.stringValue), ...offlineSettings(offlinePlan) });

    // "Default" is left out of Terraform's resource addresses: they stay what they were before the construct existed.
    this.secrets = new SecretsEnvironment(this, 'Default', { env, settings, files: props.files, terraformDir: props.terraformDir });
  }
}

function configureBackend(stack: TerraformStack, props: EnvironmentStackProps): void {
  const backend = props.settings.backend;
  if (backend.type === 's3') {
    const s3 = new S3Backend(stack, {
      bucket: backend.bucket,
      key: `${backend.keyPrefix}/${props.env}.tfstate`,
      region: backend.region ?? props.settings.region,
      encrypt: true,
    });
    // S3-native state locking (Terraform >= 1.10); cdktf 0.21 predates the option.
    s3.addOverride('use_lockfile', true);
  } else {
    // Absolute: relative backend paths resolve inside cdktf.out/.
    new LocalBackend(stack, { path: join(props.projectRoot, 'state', `${props.env}.tfstate`) });
  }
}

/** With offline_plan=true the provider needs no credentials and asks AWS nothing; any AWS call fails. */
function offlineSettings(offlinePlan: TerraformVariable) {
  const whenOffline = (value: string) => Token.asString(Fn.conditional(offlinePlan.booleanValue, value, Token.nullValue()));
  return {
    accessKey: whenOffline('offline-plan'),
    secretKey: whenOffline('offline-plan'),
    skipCredentialsValidation: offlinePlan.booleanValue,
    skipRequestingAccountId: offlinePlan.booleanValue,
    skipMetadataApiCheck: Token.asString(Fn.conditional(offlinePlan.booleanValue, 'true', 'false')),
  };
}

function providerConfig(props: EnvironmentStackProps, env: string) {
  const { settings } = props;
  const base = {
    region: settings.region,
    allowedAccountIds: settings.allowedAccountIds.length > 0 ? [...settings.allowedAccountIds] : undefined,
    defaultTags: [{ tags: { 'kms-secrets:env': env } }],
  };
  if (!settings.local) return base;
  const endpoint = props.localEndpoint ?? process.env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    throw new KmsSecretsError(`env "${props.env}" is marked local, but no local endpoint is known`, {
      hint: 'start it with `npm run local` and export the AWS_ENDPOINT_URL it prints, then run cdktf again',
    });
  }
  const endpoints: AwsProviderEndpoints = { kms: endpoint, s3: endpoint, iam: endpoint, sts: endpoint };
  return { ...base, endpoints: [endpoints], s3UsePathStyle: true, skipMetadataApiCheck: 'true', skipRegionValidation: true };
}
