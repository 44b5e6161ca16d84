// cdktf's matchers (toHaveResource…) are written for Jest; under vitest they attach to the global expect.
import { Testing } from 'cdktf';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';

(globalThis as unknown as { expect: typeof expect }).expect = expect;
Testing.setupJest();

// Each test file's temp folders (its own, cdktf's `cdktf.outdir.*`, those of the processes it starts, which
// inherit TMPDIR) go in one folder of the file's, removed after it: a run leaves nothing in /tmp.
const base = (process.env.KMS_SECRETS_TESTS_TMPDIR_BASE ??= tmpdir());
const fileTemp = mkdtempSync(join(base, 'kms-secrets-tests-'));
process.env.TMPDIR = fileTemp;
const removeFileTemp = () => rmSync(fileTemp, { recursive: true, force: true });
afterAll(removeFileTemp);
// A file whose tests are all skipped runs no afterAll: its worker's exit removes the folder.
process.once('exit', removeFileTemp);
