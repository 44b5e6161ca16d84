/**
 * The local AWS endpoint: one HTTP server on loopback that answers KMS, S3, IAM, STS, SSM and Secrets
 * Manager on their real wire protocols, with state in a folder. For the demo, development and tests,
 * never for production.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_POLICIES, denialMessage, evaluate, type Decision } from './authorize.ts';
import { faultError, FaultInjector, type FaultRule, type Faults } from './faults.ts';
import { Iam } from './iam.ts';
import { Kms } from './kms.ts';
import { AwsError, DEFAULT_REGION, readSignatureScope, type Call, type Caller, type ContextValues, type HttpRequest, type Reply, type ServiceName } from './protocol.ts';
import { RequestLog, type RequestLogEntry } from './request-log.ts';
import { dispatch, errorReply, routeRequest, type Route, type Services } from './router.ts';
import { S3 } from './s3.ts';
import { SecretsManager } from './secrets-manager.ts';
import { Ssm } from './ssm.ts';
import { QuotaExceeded, Quotas, type QuotaName, type QuotaSettings } from './quota.ts';
import { Ecs } from './ecs.ts';
import { ensureStateDir, writeFileAtomic } from './state.ts';
import { Sts } from './sts.ts';

export interface StartOptions {
  /** Folder for the state (keys, buckets, objects, roles, parameters, secrets) and requests.log. */
  readonly dir: string;
  /** @default 0, any free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Binding anything but a loopback address needs this: the endpoint has no real authentication. */
  readonly allowNonLoopback?: boolean;
  /** Request quotas as AWS enforces them (KMS's account-wide rate, S3's GET rate per prefix). @default none */
  readonly quotas?: QuotaSettings;
}

export interface LocalEndpoint {
  /** e.g. `http://127.0.0.1:41234`: the value for AWS_ENDPOINT_URL. */
  readonly url: string;
  readonly port: number;
  /** Closes the server and every open connection and flushes the request log. */
  stop(): Promise<void>;
  /** Every request answered so far, oldest first (beyond 100,000, the latest 100,000 at least). */
  requests(): RequestLogEntry[];
  readonly faults: Faults;
}

/** How each service says "not allowed". */
const ACCESS_DENIED: Record<ServiceName, { code: string; status: number }> = {
  kms: { code: 'AccessDeniedException', status: 400 },
  ssm: { code: 'AccessDeniedException', status: 400 },
  secretsmanager: { code: 'AccessDeniedException', status: 400 },
  ecs: { code: 'AccessDeniedException', status: 400 },
  s3: { code: 'AccessDenied', status: 403 },
  iam: { code: 'AccessDenied', status: 403 },
  sts: { code: 'AccessDenied', status: 403 },
};

const ADMIN_PREFIX = '/_local/';
const ECS_TASK_CREDENTIALS = `${ADMIN_PREFIX}ecs-task-credentials/`;

/**
 * The endpoint's answer to ECS's container credentials request for `role` (the value for
 * AWS_CONTAINER_CREDENTIALS_FULL_URI): a task of `cluster` (default "default") in `account` (default the endpoint's).
 */
export function ecsTaskCredentialsUrl(endpointUrl: string, role: string, task: { cluster?: string; account?: string } = {}): string {
  const query = new URLSearchParams(Object.entries(task).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `${endpointUrl}${ECS_TASK_CREDENTIALS}${role}${query.size > 0 ? `?${query}` : ''}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `start` was asked for an address that is not loopback without `allowNonLoopback`. */
export class NonLoopbackHostError extends Error {
  constructor(readonly host: string) {
    super(`Refusing to bind the local AWS endpoint to ${host}: it accepts any credentials. `
      + 'Use a loopback address (127.0.0.1, ::1, localhost) or pass allowNonLoopback: true.');
  }
}

/** In the state folder while the endpoint serves it: how another process (`npm run local -- --as …`) finds it. */
const ENDPOINT_FILE = 'endpoint.json';

/** The URL of the endpoint serving the state folder `dir`, if one is running. */
export function runningEndpoint(dir: string): string | undefined {
  let found: { url: string; pid: number };
  try {
    found = JSON.parse(readFileSync(join(dir, ENDPOINT_FILE), 'utf8')) as { url: string; pid: number };
  } catch {
    return undefined;
  }
  try {
    process.kill(found.pid, 0);
  } catch (error) {
    // Left by a process that was killed: nothing serves the folder.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  return found.url;
}

export async function start(options: StartOptions): Promise<LocalEndpoint> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowNonLoopback) throw new NonLoopbackHostError(host);
  // Settings are checked before anything opens a file in the state directory.
  const quotas = new Quotas(options.quotas);
  ensureStateDir(options.dir);
  const iam = new Iam(options.dir);
  const kms = new Kms(options.dir);
  const services: Services = {
    kms,
    iam,
    s3: new S3(options.dir),
    sts: new Sts(options.dir, iam),
    ssm: new Ssm(options.dir, kms),
    secretsmanager: new SecretsManager(options.dir, kms),
    ecs: new Ecs(options.dir),
  };
  const log = new RequestLog(options.dir);
  const faults = new FaultInjector();

  const server = createServer((req, res) => {
    handle(req, res, services, log, faults, quotas).catch((error: unknown) => {
      process.stderr.write(`local AWS endpoint: ${(error as Error).stack ?? String(error)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const endpointFile = join(options.dir, ENDPOINT_FILE);
  writeFileAtomic(endpointFile, JSON.stringify({ url, pid: process.pid }));
  return {
    url,
    port,
    faults,
    requests: () => log.all(),
    stop: async () => {
      rmSync(endpointFile, { force: true });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await log.close();
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, services: Services, log: RequestLog, faults: FaultInjector, quotas: Quotas): Promise<void> {
  const started = performance.now();
  const time = new Date().toISOString();
  const url = new URL(req.url ?? '/', 'http://local');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request: HttpRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) };

  if (request.path.startsWith(ADMIN_PREFIX)) {
    const reply = adminReply(request, faults, log, services);
    send(res, request.method, reply);
    log.record({ time, service: 'admin', operation: `${request.method} ${request.path}`, status: reply.status, durationMs: elapsed(started) });
    return;
  }

  const requestId = randomUUID();
  const scope = readSignatureScope(request);
  let route: Route;
  try {
    route = routeRequest(request, scope);
  } catch (error) {
    // Only an X-Amz-Target of a service the endpoint does not have gets here: answer as JSON 1.1 does.
    const code = (error as AwsError).code;
    send(res, request.method, { status: 400, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ __type: code, message: (error as Error).message }) });
    log.record({ time, service: 'unknown', operation: String(request.headers['x-amz-target']), accessKeyId: scope.accessKeyId, status: 400, error: code, durationMs: elapsed(started) });
    return;
  }
  let caller: Caller | undefined;
  let fault: FaultRule | undefined;
  let failure: AwsError | undefined;
  let throttled: QuotaName | undefined;
  let reply: Reply;
  try {
    fault = faults.take(route.service, route.operation);
    if (fault?.kind === 'latency') await delay(res, fault.ms ?? 1000);
    else if (fault) throw faultError(fault.kind, route.service);
    if (res.destroyed) {
      // The client gave up waiting (its timeout, its deadline): nothing is done, and there is no one to answer.
      log.record({ time, service: route.service, operation: route.operation, accessKeyId: scope.accessKeyId, status: CLIENT_GONE, fault: fault?.kind, durationMs: elapsed(started) });
      return;
    }
    quotas.take(route.service, route.operation, request.path);
    caller = services.sts.caller(scope, route.operation);
    reply = await dispatch(route, makeCall(route, request, scope.region, requestId, caller, services), services);
  } catch (thrown) {
    let error = thrown;
    if (error instanceof QuotaExceeded) {
      throttled = error.quota;
      error = error.answer;
    }
    if (!(error instanceof AwsError)) process.stderr.write(`local AWS endpoint: ${(error as Error).stack}\n`);
    failure = error instanceof AwsError ? error : new AwsError('InternalFailure', `The local endpoint failed: ${(error as Error).message}`, 500);
    reply = errorReply(route.protocol, route.service, failure, requestId, request.method);
  }
  const idHeader = route.service === 's3' ? 'x-amz-request-id' : 'x-amzn-requestid';
  send(res, request.method, { ...reply, headers: { ...reply.headers, [idHeader]: requestId } });
  log.record({
    time,
    service: route.service,
    operation: route.operation,
    accessKeyId: scope.accessKeyId,
    principal: caller?.arn,
    status: reply.status,
    error: failure?.code,
    fault: fault?.kind,
    throttled,
    durationMs: elapsed(started),
  });
}

/** Logged for a request whose client hung up before its answer (nginx's "client closed request"). */
const CLIENT_GONE = 499;

/** A slow answer's wait, cut short when the client hangs up or the endpoint stops: no timer outlives its request. */
async function delay(res: ServerResponse, ms: number): Promise<void> {
  const gone = new AbortController();
  const hangUp = () => gone.abort();
  res.once('close', hangUp);
  try {
    await sleep(ms, undefined, { signal: gone.signal });
  } catch {
    // Aborted: the caller sees res.destroyed.
  } finally {
    res.off('close', hangUp);
  }
}

function makeCall(route: Route, request: HttpRequest, region: string, requestId: string, caller: Caller, services: Services): Call {
  const decide = (action: string, resource: string, context?: ContextValues, resourcePolicy?: string): Decision => {
    // The admin may do everything IAM decides; only a resource's own policy can still say no.
    if (!caller.role && resourcePolicy === undefined) return { allowed: true };
    return evaluate({
      principal: caller.arn,
      principalArn: caller.role?.arn ?? caller.arn,
      action,
      resource,
      region,
      context,
      identityPolicies: caller.role ? services.iam.identityPolicies(caller.role.name) : ADMIN_POLICIES,
      resourcePolicy,
    });
  };
  return {
    operation: route.operation,
    region,
    requestId,
    caller,
    request,
    authorize(action: string, resource: string, context?: ContextValues, resourcePolicy?: string): void {
      const decision = decide(action, resource, context, resourcePolicy);
      if (!decision.allowed) {
        const denied = ACCESS_DENIED[route.service];
        throw new AwsError(denied.code, denialMessage({ principal: caller.arn, action, resource }, decision.reason), denied.status);
      }
    },
    allows: (action, resource, context, resourcePolicy) => decide(action, resource, context, resourcePolicy).allowed,
  };
}

/**
 * Out-of-process control: `POST /_local/faults` with a fault rule as JSON, `DELETE /_local/faults`,
 * `GET /_local/faults`, and `GET /_local/requests` for the request log. And what ECS gives a task:
 * `GET /_local/ecs-task-credentials/<role name>[?cluster=C&account=A]` answers as the container credentials
 * endpoint does (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), when the role's trust policy lets ECS assume it for
 * a task of cluster C (default "default") in account A (default the endpoint's).
 */
function adminReply(request: HttpRequest, faults: FaultInjector, log: RequestLog, services: Services): Reply {
  const json = (status: number, value: unknown): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
  const route = `${request.method} ${request.path}`;
  const ecsRole = request.method === 'GET' && request.path.startsWith(ECS_TASK_CREDENTIALS) ? request.path.slice(ECS_TASK_CREDENTIALS.length) : undefined;
  if (ecsRole) {
    try {
      const task = { region: DEFAULT_REGION, cluster: request.query.get('cluster') ?? undefined, account: request.query.get('account') ?? undefined };
      return json(200, services.sts.ecsTaskCredentials(ecsRole, task));
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      return json(error.status, { code: error.code, message: error.message });
    }
  }
  try {
    if (route === 'POST /_local/faults') {
      faults.add(JSON.parse(request.body.toString('utf8')) as FaultRule);
      return { status: 204 };
    }
    if (route === 'DELETE /_local/faults') {
      faults.clear();
      return { status: 204 };
    }
    if (route === 'GET /_local/faults') return json(200, faults.list());
    if (route === 'GET /_local/requests') return json(200, log.all());
  } catch (error) {
    return json(400, { message: (error as Error).message });
  }
  return json(404, { message: `No admin route ${route}: use POST|GET|DELETE /_local/faults or GET /_local/requests` });
}

function send(res: ServerResponse, method: string, reply: Reply): void {
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
  const headers: Record<string, string> = { ...reply.headers };
  // HEAD answers describe the object without carrying it; keep the object's own Content-Length
  headers['content-length'] ??= String(body.length);
  res.writeHead(reply.status, headers);
  res.end(method === 'HEAD' ? undefined : body);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
