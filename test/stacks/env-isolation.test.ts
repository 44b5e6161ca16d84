/**
 * Environments whose names share a prefix (demo, demo-eu) live in one account: no policy of one may name
 * anything of the other. Every resource pattern of every policy of env E is matched against every ARN
 * env F deploys, for every ordered pair of a set of names chosen to share prefixes and suffixes.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNT, concrete } from '../support/policies.ts';
import { secretFile, synthEnvironment, type TerraformConfig } from '../support/synth.ts';

const ENVS = ['a', 'a-b', 'a-b-c', 'a-task-b', 'a-task-x', 'demo', 'demo-eu', 'demo-e', 'prod', 'prod-1', 'task', 'ci', 'ci-plan', 'deployer'];
const SERVICES = ['b', 'api', 'x-deployer', 'task-b'];
const TRUST = { awsPrincipals: [`arn:aws:iam::${ACCOUNT}:role/platform`] };

const keyArn = (env: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${env}-0000-0000`;

function synthesize(env: string): TerraformConfig {
  return synthEnvironment({
    env,
    files: SERVICES.map((service) => secretFile(env, service, 'password')),
    settings: { defaults: {
      backend: { type: 's3', bucket: 'acme-terraform-state', keyPrefix: 'kms-secrets' },
      roles: { deployer: TRUST, ciPlan: TRUST, developer: TRUST },
    } },
  }).config;
}

/** Every resource pattern in the env's identity policies (task roles' inline policies, operator policies). */
function resourcePatterns(config: TerraformConfig, env: string): string[] {
  const documents = [
    ...Object.values(config.resource.aws_iam_policy ?? {}),
    ...Object.values(config.resource.aws_iam_role_policy ?? {}),
  ].map((resource) => concrete(resource.policy, keyArn(env)));
  return documents.flatMap((document) => document.Statement.flatMap((statement) => {
    const resource = (statement as { Resource?: string | string[] }).Resource ?? [];
    return Array.isArray(resource) ? resource : [resource];
  }));
}

/** Every ARN the env deploys or keeps: roles, policies, key, alias, bucket, objects, state. */
function deployedArns(config: TerraformConfig, env: string): string[] {
  const names = (type: string, field: string) => Object.values(config.resource[type] ?? {}).map((r) => String(r[field]));
  const bucket = names('aws_s3_bucket', 'bucket')[0]!;
  const state = config.terraform.backend.s3!;
  return [
    ...names('aws_iam_role', 'name').map((name) => `arn:aws:iam::${ACCOUNT}:role/${name}`),
    ...names('aws_iam_policy', 'name').map((name) => `arn:aws:iam::${ACCOUNT}:policy/${name}`),
    keyArn(env),
    ...names('aws_kms_alias', 'name').map((alias) => `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`),
    `arn:aws:s3:::${bucket}`,
    ...names('aws_s3_object', 'key').map((key) => `arn:aws:s3:::${bucket}/${key}`),
    `arn:aws:s3:::${state.bucket}/${state.key}`,
    `arn:aws:s3:::${state.bucket}/${state.key}.tflock`,
  ];
}

/** IAM's resource matching: `*` is any run of characters (including "/"), `?` any one, case-sensitive. */
function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(arn);
}

const synthesized = new Map(ENVS.map((env) => [env, synthesize(env)]));
const pairs = ENVS.flatMap((e) => ENVS.filter((f) => f !== e).map((f) => [e, f] as const));

describe('environments that share a name prefix cannot reach each other', () => {
  it.each(pairs)('no policy of env %s names anything of env %s', (e, f) => {
    const patterns = resourcePatterns(synthesized.get(e)!, e);
    const arns = deployedArns(synthesized.get(f)!, f);
    const reached = patterns.flatMap((pattern) => arns.filter((arn) => arnMatches(pattern, arn)).map((arn) => `${pattern} → ${arn}`));
    // ListAllMyBuckets and ListAliases have no resource to scope to: they list names, never contents.
    expect(reached.filter((line) => !line.startsWith('* →'))).toEqual([]);
  });

  it('no two environments want the same IAM name', () => {
    const names = ENVS.flatMap((env) => deployedArns(synthesized.get(env)!, env).filter((arn) => arn.startsWith('arn:aws:iam::')));
    expect(new Set(names).size).toBe(names.length);
  });

  it('a policy of an env does reach its own resources (the check above can fail)', () => {
    const patterns = resourcePatterns(synthesized.get('demo')!, 'demo');
    const own = deployedArns(synthesized.get('demo')!, 'demo');
    expect(own.filter((arn) => patterns.some((pattern) => pattern !== '*' && arnMatches(pattern, arn)))).toEqual(own);
  });
});
