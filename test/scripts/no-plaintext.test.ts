/** The promise of the encryption helper: a value is in no output, log or file, unless --reveal asks for it. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { TestProject } from '../support/project.ts';
import { filesContaining, marker } from '../support/markers.ts';
import { cli, localProject, runInTerminal, startAws, type Aws } from './support.ts';

let aws: Aws;
let project: TestProject;
let outside: string;
beforeAll(async () => {
  aws = await startAws();
  project = localProject();
  outside = mkdtempSync(join(tmpdir(), 'kms-secrets-input-'));
});
afterAll(async () => {
  await aws.close();
  project.remove();
  rmSync(outside, { recursive: true, force: true });
});

test('a marker value never appears in any output, request log or file except the --reveal output', async () => {
  const value = marker('value');
  const certificate = `${marker('certificate')}${'-'.repeat(5000)}`;
  writeFileSync(join(outside, 'value'), value);
  writeFileSync(join(outside, 'certificate'), certificate);
  await aws.createKey('alias/kms-secrets/demo-next');
  const outputs: string[] = [];
  const run = async (args: string[], input?: string) => {
    const result = await cli(aws, project, args, { input });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const typed = (args: string[], first: string, second: string) =>
    runInTerminal(aws, project, args, [{ after: '(hidden): ', type: `${first}\r` }, { after: 'confirm: ', type: `${second}\r` }]);

  expect((await run(['encrypt', 'api/piped'], `${value}\n`)).code).toBe(0);
  expect((await run(['encrypt', 'api/piped'], value)).code).toBe(1);
  expect((await run(['encrypt', 'api/piped', '--force'], value)).code).toBe(0);
  expect((await run(['encrypt', 'api/from-file', '--from-file', join(outside, 'value')])).code).toBe(0);
  expect((await run(['encrypt', 'api/tls.crt', '--from-file', join(outside, 'certificate')])).code).toBe(0);
  const prompted = await typed(['encrypt', 'api/typed'], value, value);
  const mistyped = await typed(['encrypt', 'api/mistyped'], value, `${value}!`);
  expect([prompted.code, mistyped.code]).toEqual([0, 1]);
  const checked = await runInTerminal(aws, project, ['decrypt', 'api/typed']);
  expect((await run(['list'])).code).toBe(0);
  expect((await run(['reencrypt', '--env', 'demo', '--to-key', 'alias/kms-secrets/demo-next'])).code).toBe(0);
  const revealed = await runInTerminal(aws, project, ['decrypt', 'api/typed', '--reveal']);
  await aws.stop();

  expect(revealed.screen).toContain(value); // the one place it belongs, and proof that the search finds it
  for (const needle of [value, certificate.slice(0, 40)]) {
    expect([...outputs, prompted.screen, mistyped.screen, checked.screen].filter((output) => output.includes(needle))).toEqual([]);
    expect(filesContaining([project.root, aws.stateDir], needle)).toEqual([]);
  }
  // The request log was there to be searched, with every call in it.
  expect(readFileSync(join(aws.stateDir, 'requests.log'), 'utf8')).toMatch(/"operation":"ReEncrypt"/);
});
