/**
 * The `aws-chunked` content encoding that SDKs use for streamed uploads (SigV4 streaming, and the
 * unsigned variant with a trailing checksum): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` repeated,
 * a zero-size chunk, then trailing headers such as `x-amz-checksum-crc32:…`.
 */
import { AwsError } from './protocol.ts';

export interface DecodedBody {
  readonly payload: Buffer;
  /** Trailing headers, names lower-cased. */
  readonly trailers: Record<string, string>;
}

export function decodeAwsChunked(body: Buffer): DecodedBody {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) throw incomplete();
    const size = parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isInteger(size) || size < 0) throw incomplete();
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > body.length) throw incomplete();
    chunks.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of body.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { payload: Buffer.concat(chunks), trailers };
}

function incomplete(): AwsError {
  return new AwsError('IncompleteBody', 'The aws-chunked request body is malformed or shorter than its chunk sizes announce');
}
