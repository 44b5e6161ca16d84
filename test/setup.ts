// cdktf's matchers (toHaveResource…) are written for Jest; under vitest they attach to the global expect.
import { Testing } from 'cdktf';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';

(globalThis as unknown as { expect: typeof expect }).expect = expect;
Testing.setupJest();

// Each test file's temp folders (its own, cdktf's `cdktf.outdir.*`, those of the processes it starts, which
// inherit TMPDIR) go in one folder of the file's, removed after it, inside the run's (test/global-setup-temp.ts).
const base = (process.env.KMS_SECRETS_TESTS_TMPDIR_BASE ??= tmpdir());
const fileTemp = mkdtempSync(join(base, 'kms-secrets-tests-'));
process.env.TMPDIR = fileTemp;
afterAll(() => rmSync(fileTemp, { recursive: true, force: true }));
