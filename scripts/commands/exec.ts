/** `kms-secrets exec`: parsing and all else live in runtime/cli.ts, which the runtime bundle shares. */
import { execCommand } from '../../runtime/cli.ts';
import type { Command } from './index.ts';

export const exec: Command = {
  summary: 'load a service\'s secrets into the environment, then run a command (container entrypoint)',
  run: execCommand,
};
