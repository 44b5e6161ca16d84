/**
 * No AWS call waits for ever: an endpoint that accepts connections and never answers ends each attempt
 * after REQUEST_TIMEOUT_MS, and the command says which call got no answer, on which key, and how long it waited.
 */
import { EncryptCommand } from '@aws-sdk/client-kms';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { classifyAwsError } from '../../lib/aws-errors.ts';
import { awsClients, REQUEST_TIMEOUT_MS } from '../../lib/aws.ts';
import { TEST_CREDENTIALS } from '../../local/index.ts';
import { kmsFailure } from '../../scripts/kms-failure.ts';

const silent = createServer(() => {}); // accepts, reads, never answers
let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

test('a call that gets no answer ends after the request timeout, and the message names the call', async () => {
  const { kms, destroy } = awsClients({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const started = performance.now();
  const error = await kms.send(new EncryptCommand({ KeyId: 'alias/kms-secrets/demo', Plaintext: Buffer.from('x') })).catch((e: unknown) => e);
  const elapsed = performance.now() - started;
  destroy();

  // Not before the timeout (a bound no load can break); that it ends at all is the proof, as the server never answers.
  expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
  expect(classifyAwsError(error).kind).toBe('timed-out');
  const failure = kmsFailure(error, { command: 'encrypt', permission: 'kms:Encrypt', key: 'alias/kms-secrets/demo', env: 'demo', region: 'us-east-1', subject: 'secrets/demo/api/x' });
  expect(failure.message).toMatch(/^secrets\/demo\/api\/x: KMS in region us-east-1 did not answer kms:Encrypt in time, 8 attempts in a row \(3 s to connect, 5 s to answer\): TimeoutError: /);
}, 15_000);
