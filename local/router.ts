/**
 * Which service and operation a request is, and how answers and errors look on each wire protocol:
 * JSON 1.1 by X-Amz-Target (KMS, SSM, Secrets Manager, ECS), query by Action (IAM and STS, told apart by
 * the credential scope's service or else by the action), and everything else S3 REST, path-style.
 */
import type { Ecs } from './ecs.ts';
import type { Iam } from './iam.ts';
import type { Kms } from './kms.ts';
import { AwsError, header, JsonInput, QueryInput, type Call, type HttpRequest, type Reply, type ServiceName, type SignatureScope, type WireProtocol } from './protocol.ts';
import { s3Operation, type S3 } from './s3.ts';
import type { SecretsManager } from './secrets-manager.ts';
import type { Ssm } from './ssm.ts';
import type { Sts } from './sts.ts';
import { escapeXml, xmlDocument } from './xml.ts';

export interface Services {
  readonly kms: Kms;
  readonly s3: S3;
  readonly iam: Iam;
  readonly sts: Sts;
  readonly ssm: Ssm;
  readonly secretsmanager: SecretsManager;
  readonly ecs: Ecs;
}

export interface Route {
  readonly service: ServiceName;
  readonly operation: string;
  readonly protocol: WireProtocol;
}

const JSON_TARGETS: Record<string, ServiceName> = { TrentService: 'kms', AmazonSSM: 'ssm', secretsmanager: 'secretsmanager', AmazonEC2ContainerServiceV20141113: 'ecs' };
const STS_ACTIONS = new Set(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'DecodeAuthorizationMessage', 'GetAccessKeyInfo',
  'GetCallerIdentity', 'GetFederationToken', 'GetSessionToken']);
const QUERY_NAMESPACES: Partial<Record<ServiceName, string>> = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
};
const SERVICE_TITLES: Record<ServiceName, string> = { kms: 'KMS', s3: 'S3', iam: 'IAM', sts: 'STS', ssm: 'SSM', secretsmanager: 'Secrets Manager', ecs: 'ECS' };

export function routeRequest(request: HttpRequest, scope: SignatureScope): Route {
  const target = header(request, 'x-amz-target');
  if (target) {
    const [prefix = '', operation = ''] = target.split('.');
    const service = JSON_TARGETS[prefix];
    if (!service) throw new AwsError('UnknownOperationException', `The local endpoint does not implement the service of X-Amz-Target ${target}`);
    return { service, operation, protocol: 'json' };
  }
  const action = queryParams(request).get('Action');
  if (action && request.path === '/') {
    const service = scope.service === 'iam' || scope.service === 'sts' ? scope.service : STS_ACTIONS.has(action) ? 'sts' : 'iam';
    return { service, operation: action, protocol: 'query' };
  }
  return { service: 's3', operation: s3Operation(request.method, request.path, request.query, request.headers), protocol: 'rest-xml' };
}

export async function dispatch(route: Route, call: Call, services: Services): Promise<Reply> {
  const title = SERVICE_TITLES[route.service];
  if (route.protocol === 'json') {
    const handler = (services[route.service] as { operations: Record<string, (input: JsonInput, call: Call) => unknown> }).operations[route.operation];
    if (!handler) throw new AwsError('UnknownOperationException', `The local endpoint does not implement ${title} operation ${route.operation}`);
    const output = await handler(JsonInput.parse(call.request.body), call);
    return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(output) };
  }
  if (route.protocol === 'query') {
    const service = route.service === 'sts' ? services.sts : services.iam;
    const handler = service.operations[route.operation];
    if (!handler) throw new AwsError('InvalidAction', `The local endpoint does not implement ${title} action ${route.operation}`);
    const result = handler(new QueryInput(queryParams(call.request)), call);
    const document = xmlDocument(`${route.operation}Response`, {
      [`${route.operation}Result`]: result,
      ResponseMetadata: { RequestId: call.requestId },
    }, QUERY_NAMESPACES[route.service]);
    return { status: 200, headers: { 'content-type': 'text/xml' }, body: document };
  }
  return services.s3.handle(call);
}

/** An error in the shape each protocol's SDK parser expects, so clients see AWS's typed exceptions. */
export function errorReply(protocol: WireProtocol, service: ServiceName, error: AwsError, requestId: string, method: string): Reply {
  if (protocol === 'json') {
    return {
      status: error.status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code },
      body: JSON.stringify({ __type: error.code, message: error.message }),
    };
  }
  if (protocol === 'query') {
    const type = error.status >= 500 ? 'Receiver' : 'Sender';
    return {
      status: error.status,
      headers: { 'content-type': 'text/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${QUERY_NAMESPACES[service]}"><Error><Type>${type}</Type>`
        + `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  return {
    status: error.status,
    headers: { 'content-type': 'application/xml' },
    // S3 answers HEAD errors with the status alone
    body: method === 'HEAD' ? undefined : xmlDocument('Error', { Code: error.code, Message: error.message, RequestId: requestId }),
  };
}

/** Query parameters come in a form body (POST) or the URL (GET). */
function queryParams(request: HttpRequest): URLSearchParams {
  const contentType = header(request, 'content-type') ?? '';
  if (request.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(request.body.toString('utf8'));
  }
  return request.query;
}
