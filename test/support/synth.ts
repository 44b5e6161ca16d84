/** Synthesizes one environment stack in memory (no Terraform), for construct tests. */
import { Testing } from 'cdktf';
import { envVarName } from '../../lib/naming.ts';
import { parseSettings } from '../../lib/settings.ts';
import type { SecretFile } from '../../lib/tree.ts';
import { EnvironmentStack } from '../../stacks/environment-stack.ts';

export interface Synthesized {
  readonly stack: EnvironmentStack;
  /** The stack's Terraform JSON as a string, as cdktf writes it. */
  readonly json: string;
  readonly config: TerraformConfig;
}

type Block = Record<string, Record<string, Record<string, unknown>>>;
export interface TerraformConfig {
  readonly resource: Block;
  readonly variable: Record<string, Record<string, unknown>>;
  readonly output: Record<string, Record<string, unknown>>;
  readonly provider: { aws: Record<string, unknown>[] };
  readonly terraform: { backend: Record<string, Record<string, unknown>> };
  readonly data?: Block;
}

/** The administrator every synthesized env names unless a test says otherwise: an env on AWS must name one. */
export const KEY_ADMINISTRATOR = 'arn:aws:iam::111122223333:role/kms-admin';

/** `settings` with KEY_ADMINISTRATOR in its defaults, unless they name administrators already. */
export function withKeyAdministrator(settings: unknown = {}): unknown {
  const given = settings as { defaults?: Record<string, unknown> };
  return { ...given, defaults: { keyAdministrators: [KEY_ADMINISTRATOR], ...given.defaults } };
}

export function secretFile(env: string, service: string, name: string, path = `/repo/secrets/${env}/${service}/${name}`): SecretFile {
  return { env, service, name, path, envVar: envVarName(name), format: 'kms', size: 64 };
}

export function synthEnvironment(options: {
  env?: string;
  settings?: unknown;
  files?: SecretFile[];
  localEndpoint?: string;
} = {}): Synthesized {
  const env = options.env ?? 'staging';
  const app = Testing.app();
  const stack = new EnvironmentStack(app, env, {
    env,
    settings: parseSettings(withKeyAdministrator(options.settings)).forEnv(env),
    files: options.files ?? [],
    projectRoot: '/repo',
    terraformDir: `/repo/cdktf.out/stacks/${env}`,
    localEndpoint: options.localEndpoint,
  });
  const json = Testing.synth(stack);
  return { stack, json, config: JSON.parse(json) as TerraformConfig };
}

/** The single resource of a type, failing the test when there is not exactly one. */
export function onlyResource(config: TerraformConfig, type: string): Record<string, unknown> {
  const resources = Object.values(config.resource[type] ?? {});
  if (resources.length !== 1) throw new Error(`expected one ${type}, found ${resources.length}`);
  return resources[0]!;
}
