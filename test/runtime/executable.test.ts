/**
 * The standalone executable (`npm run build:executable`): one file per target that runs without Node. The
 * runtime suite runs against the host's build (the `runtime-executable` test project); here, every
 * default target builds to a program of its machine, and the executable says what it runs on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildRuntimeExecutable, DEFAULT_TARGETS, hostTarget } from '../../runtime/build-executable.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-executable-'));
const built = (target: string) => join(scratch, `kms-secrets-runtime-${target}`);
beforeAll(() => {
  for (const target of DEFAULT_TARGETS) buildRuntimeExecutable(target, built(target));
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** e_machine of an ELF header: what processor the program is for. */
const ELF_MACHINES: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64' };

test.each(DEFAULT_TARGETS)('builds for %s: a Linux program of that processor, under 130 MB', (target) => {
  const file = built(target);
  const header = readFileSync(file).subarray(0, 20);

  expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  expect(header[7], 'the System V ABI, as Linux programs have').toBe(0);
  expect(ELF_MACHINES[header.readUInt16LE(18)]).toBe(target.split('-')[1]);
  expect(statSync(file).mode & 0o111).toBe(0o111);
  expect(statSync(file).size).toBeLessThan(130 * 2 ** 20);
});

test('says what it runs on: bun, where exec replaces itself with the command', () => {
  const target = hostTarget()!;
  const run = spawnSync(built(target), ['--version'], { encoding: 'utf8', env: {} });

  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^kms-secrets-runtime \d+\.\d+\.\d+ on bun \d+\.\d+\.\d+: exec replaces itself with the command \(except as PID 1\)\n$/);
});

test('--help prints the usage on stdout and exits 0; an unknown command prints it on stderr and exits 2', () => {
  const help = spawnSync(built(hostTarget()!), ['--help'], { encoding: 'utf8', env: {} });
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('usage: kms-secrets-runtime exec [options] -- <command> [args…]');

  const run = spawnSync(built(hostTarget()!), ['run'], { encoding: 'utf8', env: {} });

  expect(run.status).toBe(2);
  expect(run.stderr).toContain('unknown command "run"');
  expect(run.stderr).toContain('usage: kms-secrets-runtime exec [options] -- <command> [args…]');
});
