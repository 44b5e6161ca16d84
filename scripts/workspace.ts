/** A throw-away copy of the project (the CDKTF app and CLI, sharing node_modules), for the demo and tests. */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** What a copy needs to synthesize, deploy and run the CLI; secrets/, state and settings stay its own. */
const APP_ENTRIES = ['main.ts', 'cdktf.json', 'package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'lib', 'stacks', 'scripts', 'runtime'];

export function copyApp(projectRoot: string, target: string): void {
  mkdirSync(join(target, 'secrets'), { recursive: true });
  for (const entry of APP_ENTRIES) cpSync(join(projectRoot, entry), join(target, entry), { recursive: true });
  symlinkSync(join(projectRoot, 'node_modules'), join(target, 'node_modules'));
}
