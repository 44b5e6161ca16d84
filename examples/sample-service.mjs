#!/usr/bin/env node
// A stand-in for an app started by `kms-secrets exec`: it proves it received its secrets by printing each
// variable's name, length and SHA-256 fingerprint, never the value. Exit 1 when one is missing.
import { createHash } from 'node:crypto';

let missing = 0;
for (const name of process.argv.slice(2)) {
  const value = process.env[name];
  if (value === undefined) {
    console.log(`${name}: MISSING`);
    missing += 1;
    continue;
  }
  const fingerprint = createHash('sha256').update(value).digest('hex').slice(0, 12);
  console.log(`${name}: ${Buffer.byteLength(value)} bytes, sha256 ${fingerprint}…`);
}
process.exitCode = missing === 0 ? 0 : 1;
