/** `npm run build:executable`: where the executables cannot be written, it says why and builds nothing. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyApp } from '../../scripts/workspace.ts';
import { REPO_ROOT } from '../support/project.ts';

let copy: string;
beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'kms-secrets-build-'));
  copyApp(REPO_ROOT, copy);
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

test('a file named dist, where the folder must be: one line naming it and what to do, no stack; the file is kept', () => {
  writeFileSync(join(copy, 'dist'), 'a file of mine');
  const run = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['runtime/build-executable.ts', 'linux-x64'], { cwd: copy, encoding: 'utf8' });

  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toBe(
    `build:executable: cannot write ${join(copy, 'dist', 'kms-secrets-runtime-linux-x64')}: ${join(copy, 'dist')} is a file, not a folder; nothing was built\n`
    + `hint: move or remove the file ${join(copy, 'dist')}, then build again\n`,
  );
  expect(readFileSync(join(copy, 'dist'), 'utf8')).toBe('a file of mine');
});
