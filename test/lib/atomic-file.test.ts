/** lib/atomic-file.ts: a reader sees the old file or the new one, and a signal leaves no temp file behind. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { REPO_ROOT } from '../support/project.ts';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kms-secrets-atomic-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  test('replaces a file whole, creates missing directories, and sets the mode exactly', async () => {
    writeFileSync(join(dir, 'secret'), 'old');
    await writeFileAtomic(join(dir, 'secret'), Buffer.from('new'));
    await writeFileAtomic(join(dir, 'a', 'b', 'sidecar'), Buffer.from('x'), { mode: 0o400 });

    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('new');
    expect(statSync(join(dir, 'a', 'b', 'sidecar')).mode & 0o777).toBe(0o400);
    expect(readdirSync(dir).sort()).toEqual(['a', 'secret']);
  });

  test('exclusive: an existing file is kept and the write fails with EEXIST', async () => {
    writeFileSync(join(dir, 'secret'), 'old');
    await expect(writeFileAtomic(join(dir, 'secret'), Buffer.from('new'), { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });

    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['secret']);
  });

  test('SIGINT in the middle of a write removes the temp file, keeps the old file, and ends the process by that signal', async () => {
    writeFileSync(join(dir, 'secret'), 'old');
    // A large write, so the temp file exists long enough to be seen and interrupted.
    const writer = `import { writeFileAtomic } from ${JSON.stringify(join(REPO_ROOT, 'lib', 'atomic-file.ts'))};
      await writeFileAtomic(${JSON.stringify(join(dir, 'secret'))}, Buffer.alloc(512 * 1024 * 1024, 1));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', writer], { cwd: REPO_ROOT, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let sawTemp = false;
    while (child.exitCode === null && !sawTemp) {
      sawTemp = readdirSync(dir).some((name) => name.endsWith('.tmp'));
      if (!sawTemp) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill('SIGINT');

    expect(sawTemp).toBe(true);
    expect(await exited).toBe('SIGINT');
    expect(readdirSync(dir)).toEqual(['secret']);
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('old');
  });
});
