/**
 * What every service module shares: the request as read off the wire, the caller, AWS-shaped errors,
 * the SigV4 credential scope, and typed access to JSON 1.1 and query-protocol parameters.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { XmlValue } from './xml.ts';

/** The one account of the local endpoint. */
export const ACCOUNT_ID = '000000000000';
/** Used when a request carries no credential scope. */
export const DEFAULT_REGION = 'us-east-1';

export type ServiceName = 'kms' | 's3' | 'iam' | 'sts' | 'ssm' | 'secretsmanager' | 'ecs';
export type WireProtocol = 'json' | 'query' | 'rest-xml';

/** An error the client sees with AWS's own code, so SDKs map it to their typed exceptions. */
export class AwsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
    this.name = code;
  }
}

export interface HttpRequest {
  readonly method: string;
  /** The path as sent, still percent-encoded (S3 object keys are decoded by the S3 module). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** Who made a request. The admin is the account root; AssumeRole sessions carry their role. */
export interface Caller {
  readonly accessKeyId: string;
  readonly arn: string;
  readonly userId: string;
  readonly role?: { readonly name: string; readonly arn: string };
}

export type ContextValues = Record<string, string | string[]>;

/** One request as a service module sees it. */
export interface Call {
  readonly operation: string;
  readonly region: string;
  readonly requestId: string;
  readonly caller: Caller;
  readonly request: HttpRequest;
  /**
   * Throws the service's AccessDenied error unless the caller may do `action` on `resource`, by its identity
   * policies and the resource's own policy (key policy, bucket policy, trust policy) when it has one.
   */
  authorize(action: string, resource: string, context?: ContextValues, resourcePolicy?: string): void;
  /** Whether `authorize` would let the caller through, e.g. under a policy that is about to replace the resource's. */
  allows(action: string, resource: string, context?: ContextValues, resourcePolicy?: string): boolean;
}

/** The parts of a SigV4 signature the endpoint uses (it does not verify the signature itself). */
export interface SignatureScope {
  readonly accessKeyId?: string;
  readonly sessionToken?: string;
  readonly region: string;
  /** The service named in the credential scope, e.g. `iam` or `sts`. */
  readonly service?: string;
}

export function readSignatureScope(request: HttpRequest): SignatureScope {
  const authorization = header(request, 'authorization') ?? '';
  const credential = /Credential=([^,\s]+)/.exec(authorization)?.[1] ?? request.query.get('X-Amz-Credential') ?? undefined;
  const sessionToken = header(request, 'x-amz-security-token') ?? request.query.get('X-Amz-Security-Token') ?? undefined;
  if (!credential) return { region: DEFAULT_REGION, sessionToken };
  const [accessKeyId, , region, service] = credential.split('/');
  return { accessKeyId, sessionToken, region: region || DEFAULT_REGION, service };
}

export function header(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `keyId` as AWS names a member in its validation messages. */
function memberName(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Parameters of a JSON 1.1 request (KMS, SSM, Secrets Manager), with AWS's validation errors. */
export class JsonInput {
  constructor(private readonly raw: Record<string, unknown>) {}

  static parse(body: Buffer): JsonInput {
    if (body.length === 0) return new JsonInput({});
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new AwsError('SerializationException', 'The request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AwsError('SerializationException', 'The request body must be a JSON object');
    }
    return new JsonInput(parsed as Record<string, unknown>);
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw invalid(`Value null at '${memberName(name)}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.typed(name, 'string') as string | undefined;
  }

  optionalNumber(name: string): number | undefined {
    return this.typed(name, 'number') as number | undefined;
  }

  optionalBoolean(name: string): boolean | undefined {
    return this.typed(name, 'boolean') as boolean | undefined;
  }

  /** A blob member: base64 in the JSON document. */
  blob(name: string): Buffer {
    return Buffer.from(this.string(name), 'base64');
  }

  optionalBlob(name: string): Buffer | undefined {
    return this.has(name) ? this.blob(name) : undefined;
  }

  optionalStringMap(name: string): Record<string, string> | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw invalid(`Value at '${memberName(name)}' failed to satisfy constraint: Member must be a map of strings`);
    }
    return value as Record<string, string>;
  }

  /** A member as sent, of any JSON type (ECS keeps container definitions whole). */
  optionalValue(name: string): unknown {
    return this.raw[name] ?? undefined;
  }

  optionalList<T>(name: string): T[] | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw invalid(`Value at '${memberName(name)}' failed to satisfy constraint: Member must be a list`);
    return value as T[];
  }

  private typed(name: string, type: 'string' | 'number' | 'boolean'): unknown {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type) throw invalid(`Value at '${memberName(name)}' failed to satisfy constraint: Member must be a ${type}`);
    return value;
  }
}

function invalid(detail: string, code = 'ValidationException'): AwsError {
  return new AwsError(code, `1 validation error detected: ${detail}`);
}

/** Parameters of a query-protocol request (IAM, STS): a form body with `Tags.member.1.Key`-style lists. */
export class QueryInput {
  constructor(private readonly params: URLSearchParams) {}

  string(name: string): string {
    const value = this.params.get(name);
    if (value === null) throw invalid(`Value null at '${memberName(name)}' failed to satisfy constraint: Member must not be null`, 'ValidationError');
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  optionalNumber(name: string): number | undefined {
    const value = this.params.get(name);
    if (value === null) return undefined;
    const number = Number(value);
    if (!Number.isFinite(number)) throw invalid(`Value '${value}' at '${memberName(name)}' failed to satisfy constraint: Member must be a number`, 'ValidationError');
    return number;
  }

  /** `Tags.member.N.Key/Value` → [{ Key, Value }], in N order. */
  memberList(name: string): Record<string, string>[] {
    const members = new Map<number, Record<string, string>>();
    const pattern = new RegExp(`^${name}\\.member\\.(\\d+)(?:\\.(.+))?$`);
    for (const [key, value] of this.params) {
      const match = pattern.exec(key);
      if (!match) continue;
      const index = Number(match[1]);
      const member = members.get(index) ?? {};
      member[match[2] ?? ''] = value;
      members.set(index, member);
    }
    return [...members.entries()].sort(([a], [b]) => a - b).map(([, member]) => member);
  }

  /** `TagKeys.member.N` → the strings, in N order. */
  stringList(name: string): string[] {
    return this.memberList(name).map((member) => member['']!).filter((value) => value !== undefined);
  }
}

/** Pages through a sorted list with an opaque marker, as the List* operations do. */
export function paginate<T>(items: T[], limit: number, marker: string | undefined): { page: T[]; nextMarker?: string } {
  const start = marker ? Number(Buffer.from(marker, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidMarkerException', 'The pagination marker is not valid');
  const end = start + limit;
  return { page: items.slice(start, end), nextMarker: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}

export function epochSeconds(date: Date | number = Date.now()): number {
  return (typeof date === 'number' ? date : date.getTime()) / 1000;
}

/** A JSON 1.1 service: operation name → handler returning the response document. */
export type JsonOperations = Readonly<Record<string, (input: JsonInput, call: Call) => unknown>>;

/** A query-protocol service: operation name → handler returning the `<Op>Result` members. */
export type QueryOperations = Readonly<Record<string, (input: QueryInput, call: Call) => Record<string, XmlValue>>>;
