/**
 * Command-line arguments, parsed by node:util parseArgs for every command (the operator commands and the
 * runtime's): a mistyped option is a UsageError naming it, with the command's usage as the hint, never a
 * stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

/**
 * parseArgs(config), or a UsageError whose hint is the first line of `usage` (or `hint`, when given for a
 * stray positional argument, e.g. exec's "the command goes after --").
 */
export function parseArguments<T extends ParseArgsConfig>(config: T, usage: string, positionalHint?: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = String((error as NodeJS.ErrnoException).code);
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message)?.[1];
    const message = unknown !== undefined ? `unknown option ${unknown}` : (error as Error).message;
    const positional = code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && positionalHint !== undefined;
    throw new UsageError(message, { hint: positional ? positionalHint : usage.split('\n')[0] });
  }
}
