#!/usr/bin/env node
// The kms-secrets CLI, run from its TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/cli.ts');
process.exitCode = await main(process.argv.slice(2));
