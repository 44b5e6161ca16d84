/**
 * STS (query protocol) and the identity of every request. Any access key the endpoint did not issue is
 * the account's admin (the root), so `test`/`test` can do everything IAM decides; AssumeRole issues
 * temporary credentials that act as the role, and every request made with them is authorized against
 * its policies. Who may assume a role is the role's trust policy: the admin too must be trusted.
 *
 * ECS tasks get their task role's credentials from ECS, which assumes the role as the service principal
 * `ecs-tasks.amazonaws.com` on the task's behalf, naming the task's account and ARN (aws:SourceAccount,
 * aws:SourceArn). `ecsTaskCredentials` does the same, for the container credentials route of the server.
 *
 * AssumeRoleWithWebIdentity (a CI job's OIDC token, an EKS service account's) is unsigned, as on AWS. The
 * token's issuer names the provider, `arn:aws:iam::<account>:oidc-provider/<issuer without https://>`, and
 * its audience and `sub` claim are the trust policy's `<issuer>:aud` and `<issuer>:sub` condition keys. The
 * token's signature is not checked, nor whether IAM has the provider: anyone can mint a token here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { denialMessage, evaluate } from './authorize.ts';
import type { AssumableRole, Iam } from './iam.ts';
import { ACCOUNT_ID, AwsError, type Caller, type QueryOperations, type SignatureScope } from './protocol.ts';
import { JsonStore } from './state.ts';

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleName: string;
  roleArn: string;
  roleId: string;
  sessionName: string;
  /** Epoch milliseconds. */
  expiration: number;
}

const MIN_DURATION_SECONDS = 900;
const DEFAULT_DURATION_SECONDS = 3600;

const ADMIN_ARN = `arn:aws:iam::${ACCOUNT_ID}:root`;
const ECS_TASKS = 'ecs-tasks.amazonaws.com';

/** Where an ECS task runs, as ECS tells STS when it assumes the task role. */
export interface EcsTask {
  readonly region: string;
  /** @default the endpoint's account */
  readonly account?: string;
  /** @default "default" */
  readonly cluster?: string;
}

/** What the ECS container credentials endpoint answers (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export interface ContainerCredentials {
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly Token: string;
  readonly Expiration: string;
  readonly RoleArn: string;
}

/** What AssumeRole and AssumeRoleWithWebIdentity answer about the session they started. */
function assumedRole(session: Session) {
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: new Date(session.expiration).toISOString(),
    },
    AssumedRoleUser: {
      AssumedRoleId: `${session.roleId}:${session.sessionName}`,
      Arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${session.roleName}/${session.sessionName}`,
    },
  };
}

function assertSessionName(sessionName: string): void {
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    throw new AwsError('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  }
}

/**
 * The claims of an OIDC token (a JWT) that a trust policy can name, after the checks STS makes of them that do
 * not need the provider: the signature is not checked. Refusals are STS's documented errors, InvalidIdentityToken
 * ("could not be validated") and ExpiredTokenException ("is expired"), with its wording ("Missing a required
 * claim: aud", "Incorrect token audience").
 */
function webIdentityClaims(token: string): { iss: string; sub: string; aud: string } {
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw new AwsError('InvalidIdentityToken', 'The web identity token is not a JWT');
  }
  const missing = ['iss', 'sub', 'aud', 'exp'].find((claim) => claims[claim] === undefined);
  if (missing) throw new AwsError('InvalidIdentityToken', `Missing a required claim: ${missing}`);
  const { iss, sub, exp, nbf } = claims;
  if (typeof iss !== 'string' || !iss.startsWith('https://') || typeof sub !== 'string' || typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) {
    throw new AwsError('InvalidIdentityToken', 'The web identity token needs an https iss, a string sub, and numeric exp and nbf claims');
  }
  if (exp * 1000 <= Date.now()) throw new AwsError('ExpiredTokenException', 'Token expired: current date/time must be before the expiration date/time');
  // Before its nbf a token is not expired: it cannot be validated yet.
  if (nbf !== undefined && nbf * 1000 > Date.now()) {
    throw new AwsError('InvalidIdentityToken', 'Token is not yet valid: current date/time must be at or after the not-before date/time (nbf)');
  }
  return { iss, sub, aud: audience(claims) };
}

/**
 * The audience STS matches (the `<issuer>:aud` condition key): `aud`; for a token with several audiences, the
 * authorized party `azp`, which OpenID Connect expects such a token to carry and which IAM documents as the
 * `aud` key of Google's ID tokens whenever present. Without `azp` there is no one audience to match: refused.
 */
function audience(claims: Record<string, unknown>): string {
  const { aud, azp } = claims;
  if (typeof aud === 'string') return aud;
  if (Array.isArray(aud) && aud.length === 1 && typeof aud[0] === 'string') return aud[0];
  if (Array.isArray(aud) && aud.length > 1 && aud.every((value) => typeof value === 'string') && typeof azp === 'string') return azp;
  throw new AwsError('InvalidIdentityToken', 'Incorrect token audience');
}

function randomText(bytes: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'): string {
  return [...randomBytes(bytes)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

export class Sts {
  private readonly store: JsonStore<{ sessions: Session[] }>;

  constructor(dir: string, private readonly iam: Iam) {
    this.store = new JsonStore(dir, 'sts', () => ({ sessions: [] }));
  }

  /** The caller a request's credentials stand for; throws when they are missing, forged or expired. */
  caller(scope: SignatureScope, operation?: string): Caller {
    const accessKeyId = scope.accessKeyId;
    if (!accessKeyId && operation === 'AssumeRoleWithWebIdentity') return { accessKeyId: '', arn: 'anonymous', userId: 'anonymous' };
    if (!accessKeyId) throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token: sign it with SigV4 (any access key, e.g. test/test)', 403);
    const session = this.store.data.sessions.find((s) => s.accessKeyId === accessKeyId);
    if (!session) return { accessKeyId, arn: ADMIN_ARN, userId: ACCOUNT_ID };
    if (scope.sessionToken !== session.sessionToken) {
      throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
    if (Date.now() >= session.expiration) throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 400);
    return {
      accessKeyId,
      arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${session.roleName}/${session.sessionName}`,
      userId: `${session.roleId}:${session.sessionName}`,
      role: { name: session.roleName, arn: session.roleArn },
    };
  }

  readonly operations: QueryOperations = {
    GetCallerIdentity: (_input, call) => ({ UserId: call.caller.userId, Account: ACCOUNT_ID, Arn: call.caller.arn }),
    AssumeRole: (input, call) => {
      const roleArn = input.string('RoleArn');
      const sessionName = input.string('RoleSessionName');
      if (input.optionalString('Policy') !== undefined || input.memberList('PolicyArns').length > 0) {
        throw new AwsError('ValidationError', 'The local endpoint does not support session policies (Policy, PolicyArns) in AssumeRole');
      }
      assertSessionName(sessionName);
      const role = this.iam.findRole(roleArn.slice(roleArn.lastIndexOf('/') + 1));
      if (!role || role.arn !== roleArn) {
        throw new AwsError('AccessDenied', `User: ${call.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
      }
      call.authorize('sts:AssumeRole', roleArn, {}, role.trustPolicy);
      return assumedRole(this.startSession(role, sessionName, input.optionalNumber('DurationSeconds') ?? DEFAULT_DURATION_SECONDS));
    },
    AssumeRoleWithWebIdentity: (input, call) => {
      const roleArn = input.string('RoleArn');
      const sessionName = input.string('RoleSessionName');
      assertSessionName(sessionName);
      const claims = webIdentityClaims(input.string('WebIdentityToken'));
      const provider = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${claims.iss.replace(/^https:\/\//, '')}`;
      const issuer = provider.slice(provider.indexOf('/') + 1);
      const role = this.iam.findRole(roleArn.slice(roleArn.lastIndexOf('/') + 1));
      const decision = role && role.arn === roleArn
        ? evaluate({
          principal: provider,
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: roleArn,
          region: call.region,
          context: { [`${issuer}:sub`]: claims.sub, [`${issuer}:aud`]: claims.aud, 'aws:FederatedProvider': provider },
          identityPolicies: [],
          resourcePolicy: role.trustPolicy,
        })
        : { allowed: false as const, reason: 'because the role does not exist' };
      if (!decision.allowed) throw new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
      const session = this.startSession(role!, sessionName, input.optionalNumber('DurationSeconds') ?? DEFAULT_DURATION_SECONDS);
      return { ...assumedRole(session), SubjectFromWebIdentityToken: claims.sub, Audience: claims.aud, Provider: issuer };
    },
  };

  /** The credentials of `roleName` for an ECS task, if the role's trust policy lets ECS assume it for that task. */
  ecsTaskCredentials(roleName: string, task: EcsTask): ContainerCredentials {
    const role = this.iam.findRole(roleName);
    const resource = role?.arn ?? `arn:aws:iam::${ACCOUNT_ID}:role/${roleName}`;
    const account = task.account ?? ACCOUNT_ID;
    const taskId = randomUUID().replaceAll('-', '');
    const decision = role
      ? evaluate({
        principal: ECS_TASKS,
        action: 'sts:AssumeRole',
        resource,
        region: task.region,
        context: { 'aws:SourceAccount': account, 'aws:SourceArn': `arn:aws:ecs:${task.region}:${account}:task/${task.cluster ?? 'default'}/${taskId}` },
        identityPolicies: [],
        resourcePolicy: role.trustPolicy,
      })
      : { allowed: false as const, reason: 'because the role does not exist' };
    if (!decision.allowed) throw new AwsError('AccessDenied', denialMessage({ principal: ECS_TASKS, action: 'sts:AssumeRole', resource }, decision.reason), 403);
    const session = this.startSession(role!, `ecs-task-${taskId.slice(0, 12)}`, DEFAULT_DURATION_SECONDS);
    return {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      Token: session.sessionToken,
      Expiration: new Date(session.expiration).toISOString(),
      RoleArn: role!.arn,
    };
  }

  private startSession(role: AssumableRole, sessionName: string, duration: number): Session {
    if (duration < MIN_DURATION_SECONDS || duration > role.maxSessionDuration) {
      throw new AwsError('ValidationError', `The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below ${MIN_DURATION_SECONDS}.`);
    }
    const session: Session = {
      accessKeyId: `ASIA${randomText(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      roleName: role.name,
      roleArn: role.arn,
      roleId: role.roleId,
      sessionName,
      expiration: Date.now() + duration * 1000,
    };
    this.store.data.sessions = [...this.store.data.sessions.filter((s) => s.expiration > Date.now()), session];
    this.store.save();
    return session;
  }
}
