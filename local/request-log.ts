/**
 * Who called what, when, and how it ended: never parameters, payloads or values, so the log can be
 * read by tests and shown to people without leaking a secret.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from './protocol.ts';

export interface RequestLogEntry {
  /** ISO 8601 time the request arrived. */
  readonly time: string;
  /** `admin` for the endpoint's own /_local/ routes, `unknown` for an X-Amz-Target of another service. */
  readonly service: ServiceName | 'admin' | 'unknown';
  /** The AWS operation name, e.g. `Decrypt`, `PutObject`, `AssumeRole`. */
  readonly operation: string;
  readonly accessKeyId?: string;
  /** The caller's ARN: the account root, or `arn:aws:sts::…:assumed-role/<role>/<session>`. */
  readonly principal?: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** The error code when the request failed, e.g. `AccessDeniedException`. */
  readonly error?: string;
  /** The injected fault that answered or delayed the request, if any. */
  readonly fault?: string;
  readonly durationMs: number;
}

export class RequestLog {
  private readonly entries: RequestLogEntry[] = [];
  private readonly file: WriteStream;

  constructor(dir: string) {
    this.file = createWriteStream(join(dir, 'requests.log'), { flags: 'a', mode: 0o600 });
  }

  record(entry: RequestLogEntry): void {
    this.entries.push(entry);
    this.file.write(`${JSON.stringify(entry)}\n`);
  }

  all(): RequestLogEntry[] {
    return [...this.entries];
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(resolve));
  }
}
