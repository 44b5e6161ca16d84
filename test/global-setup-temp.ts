/**
 * A run leaves nothing in the temp folder. Every test file works in a folder of its own (test/setup.ts) inside
 * one folder of the run's, made here and removed when the run ends, whatever a file's hooks did. Then this fails
 * the run when something went around it — a path written as /tmp, a process that dropped TMPDIR — naming what
 * was left.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What this project's tests, cdktf and the local endpoint name their temp folders (another run's own folder aside). */
const OURS = /^(kms-secrets-(?!tests-)|cdktf\.outdir\.|local-aws-|terraform-local-|aws-cli-)/;

export default function setup(): () => void {
  const dir = tmpdir();
  const before = new Set(readdirSync(dir));
  const run = mkdtempSync(join(dir, 'kms-secrets-tests-'));
  // Read by test/setup.ts in each worker, which inherits it.
  process.env.KMS_SECRETS_TESTS_TMPDIR_BASE = run;
  return () => {
    rmSync(run, { recursive: true, force: true });
    const left = readdirSync(dir).filter((name) => OURS.test(name) && !before.has(name));
    if (left.length === 0) return;
    process.stderr.write(`\nFAIL: the tests left ${left.length} folder(s) in ${dir}: ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}\n`);
    // vitest reports an error thrown here but still exits 0.
    process.exitCode = 1;
  };
}
