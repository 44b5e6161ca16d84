/**
 * Who called what, when, and how it ended: never parameters, payloads or values, so the log can be
 * read by tests and shown to people without leaking a secret.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from './protocol.ts';
import type { QuotaName } from './quota.ts';

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
  /** The quota that throttled the request (`kms`, `s3-prefix`), if one did. */
  readonly throttled?: QuotaName;
  readonly durationMs: number;
}

/** Entries kept in memory for requests(); requests.log keeps them all, so a long-running endpoint stays small. */
const MEMORY_LIMIT = 100_000;

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private readonly file: WriteStream;
  /** Lines not yet handed to the file. */
  private pending = '';
  private flushScheduled = false;

  constructor(dir: string) {
    this.file = createWriteStream(join(dir, 'requests.log'), { flags: 'a', mode: 0o600 });
  }

  record(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > 2 * MEMORY_LIMIT) this.entries = this.entries.slice(-MEMORY_LIMIT);
    this.pending += `${JSON.stringify(entry)}\n`;
    // One file write per turn of the event loop, not per request: each write is a trip to the thread pool.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The latest entries, oldest first (at least the last 100,000). */
  all(): RequestLogEntry[] {
    return [...this.entries];
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.file.end(resolve));
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.file.writableEnded || !this.pending) return;
    this.file.write(this.pending);
    this.pending = '';
  }
}
