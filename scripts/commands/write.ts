/** `kms-secrets write`: parsing and all else live in runtime/cli.ts, which the runtime bundle shares. */
import { writeCommand } from '../../runtime/cli.ts';
import type { Command } from './index.ts';

export const write: Command = {
  summary: 'write a service\'s secrets to files (mode 0400) in a directory, then exit (ECS sidecar)',
  run: writeCommand,
};
