import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { envVarName } from '../../lib/naming.ts';
import { runDemo, type DemoResult } from '../../scripts/demo.ts';
import { filesContaining } from '../support/markers.ts';
import { describeWithTerraform, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const MARKER = 'MARKER-PLAINTEXT-d3m0';
const secrets = [
  { name: 'db-password', value: Buffer.from(`${MARKER}-db`) },
  { name: 'stripe-key', value: Buffer.from(`${MARKER}-stripe`) },
  { name: 'tls.crt', value: Buffer.from(`${MARKER}-cert\n`.repeat(400)) },
];

describeWithTerraform('npm run demo, end to end', () => {
  let result: DemoResult;
  const output: string[] = [];

  beforeAll(async () => {
    result = await runDemo({ secrets, write: (line) => output.push(line), keepWorkspace: true });
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => {
    if (result) rmSync(result.workspace, { recursive: true, force: true });
  });

  it('walks through the seven steps and finishes', () => {
    const text = output.join('\n');
    for (let step = 1; step <= 7; step++) expect(text).toContain(`[${step}/7]`);
    expect(text).toMatch(/Demo finished in \d+ s/);
  });

  it('starts the sample service with every secret, proven by fingerprints', () => {
    for (const { name, value } of secrets) {
      const fingerprint = createHash('sha256').update(value).digest('hex').slice(0, 12);
      expect(result.serviceReport).toContain(`${envVarName(name)}: ${value.length} bytes, sha256 ${fingerprint}…`);
    }
  });

  it('shows that CI can plan without decrypt rights', () => {
    expect(result.ciPlanSucceeded).toBe(true);
    expect(result.ciDecryptDenied).toBe(true);
  });

  it('never prints a value, and never writes one to a file', () => {
    expect(output.join('\n')).not.toContain(MARKER);
    expect(filesContaining([result.workspace], MARKER)).toEqual([]);
  });
});
