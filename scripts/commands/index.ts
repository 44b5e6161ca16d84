import { decrypt } from './decrypt.ts';
import { encrypt } from './encrypt.ts';
import { exec } from './exec.ts';
import { list } from './list.ts';
import { planCheck } from './plan-check.ts';
import { reencrypt } from './reencrypt.ts';
import { status } from './status.ts';
import { verify } from './verify.ts';
import { write } from './write.ts';

/** A CLI command: parses its own arguments and calls into lib/ or runtime/. */
export interface Command {
  readonly summary: string;
  run(args: readonly string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  encrypt,
  decrypt,
  list,
  'plan-check': planCheck,
  reencrypt,
  status,
  verify,
  exec,
  write,
};
