import { describe, expect, it } from 'vitest';
import { detectFormat, FORMAT_HEADERS } from '../../lib/formats.ts';

const bytes = (...values: number[]) => Buffer.from([...values, 0xaa, 0xbb, 0xcc]);

describe('ciphertext format detection', () => {
  it.each([
    ['a KMS blob', bytes(0x01, 0x02, 0x02, 0x00, 0x78), 'kms'],
    ['an older KMS blob', bytes(0x01, 0x01, 0x02, 0x00, 0x78), 'kms'],
    ['an Encryption SDK v1 message', bytes(0x01, 0x80, 0x03, 0x78), 'envelope'],
    ['an Encryption SDK v2 message (suite 0x0578, the SDK\'s default, signed)', bytes(0x02, 0x05, 0x78), 'envelope'],
    ['an Encryption SDK v2 message (suite 0x0478, what encrypt writes)', bytes(0x02, 0x04, 0x78), 'envelope'],
    ['local endpoint ciphertext', Buffer.concat([Buffer.from('LKMS'), bytes(0x01)]), 'local'],
  ])('recognises %s', (_, input, format) => {
    expect(detectFormat(input)).toBe(format);
  });

  it.each([
    ['plaintext', Buffer.from('hunter2\n')],
    ['PEM text', Buffer.from('-----BEGIN CERTIFICATE-----')],
    ['an empty file', Buffer.alloc(0)],
    ['a bare header', Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78])],
    ['an unknown local version', Buffer.concat([Buffer.from('LKMS'), bytes(0x09)])],
    ['an unknown SDK v2 suite', bytes(0x02, 0x01, 0x78)],
  ])('rejects %s', (_, input) => {
    expect(detectFormat(input)).toBeUndefined();
  });

  it('the headers named in messages are the ones detected, starting with the 02 04 78 that encrypt writes for an envelope', () => {
    const named = [...FORMAT_HEADERS.matchAll(/((?:[0-9a-f]{2} )*[0-9a-f]{2})…/g)].map((match) => Buffer.from(match[1]!.replaceAll(' ', ''), 'hex'));
    expect(named.map((header) => header.toString('hex'))).toEqual(['0102020078', '020478', '020578', '0180']);
    expect(named.map((header) => detectFormat(Buffer.concat([header, bytes(0x03)])))).toEqual(['kms', 'envelope', 'envelope', 'envelope']);
  });
});
