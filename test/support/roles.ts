/**
 * Principals for tests on the local endpoint: a role with a given inline policy (or one the stack made),
 * assumed through STS as a CI job would, or handed to an ECS task by ECS, as SDK credentials or as
 * environment variables.
 */
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { ACCOUNT_ID, ecsTaskCredentialsUrl, TEST_CREDENTIALS } from '../../local/index.ts';
import { assumeRole as assumeLocalRole, credentialsEnv } from '../../scripts/local-project.ts';

export interface RoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

const REGION = 'us-east-1';

/** Creates role `name` whose only policy allows `statements`, and assumes it. */
export async function roleWithPolicy(endpoint: string, name: string, statements: object[]): Promise<RoleCredentials> {
  await createRole(endpoint, name, [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole' }], statements);
  return assumeRole(endpoint, name);
}

/** Creates role `name` with the given trust policy statements and one inline policy of `statements`; returns its ARN. */
export async function createRole(endpoint: string, name: string, trust: object[], statements: object[]): Promise<string> {
  // IAM is only needed to set up tests, so lib/aws.ts builds no IAM client.
  const iam = new IAMClient({ endpoint, region: REGION, credentials: TEST_CREDENTIALS });
  try {
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: trust }) }));
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'test', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
    return Role!.Arn!;
  } finally {
    iam.destroy();
  }
}

/** An OIDC token as a CI provider issues it, with the claims a trust policy names; unsigned (the endpoint does not check signatures). */
export function webIdentityToken(claims: { iss: string; sub: string; aud: string }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ ...claims, iat: now, exp: now + 600 })}.${Buffer.from('unsigned').toString('base64url')}`;
}

/** Assumes an existing role, e.g. one the stack created, as the demo and the tour do. */
export async function assumeRole(endpoint: string, name: string): Promise<RoleCredentials> {
  return assumeLocalRole(endpoint, name, 'test');
}

/**
 * The task role's credentials as ECS hands them to a task (the endpoint's container credentials route):
 * the role's trust policy must let ecs-tasks.amazonaws.com assume it for that task's account and cluster.
 */
export async function ecsTaskCredentials(endpoint: string, role: string, task: { cluster?: string; account?: string } = {}): Promise<RoleCredentials> {
  const response = await fetch(ecsTaskCredentialsUrl(endpoint, role, task));
  const body = await response.json() as { AccessKeyId: string; SecretAccessKey: string; Token: string; message?: string };
  if (!response.ok) throw new Error(`ECS could not assume ${role}: ${body.message}`);
  return { accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.Token };
}

/** The variable that makes the SDK's default chain fetch the task role's credentials, as in an ECS task. */
export function ecsTaskCredentialsEnv(endpoint: string, role: string): Record<string, string> {
  return { AWS_CONTAINER_CREDENTIALS_FULL_URI: ecsTaskCredentialsUrl(endpoint, role) };
}

/** The credentials as the variables a CLI or Terraform reads. */
export { credentialsEnv };
