/**
 * The entry of the standalone executable (`npm run build:executable` → dist/kms-secrets-runtime-linux-<arch>):
 * the runtime compiled by bun with its JavaScript engine and bytecode in one file, for images without Node.
 */
import { EXECUTABLE_USAGE, main } from './main.ts';

// No top-level await: bun compiles to bytecode only what it can run as CommonJS.
void main(process.argv.slice(2), EXECUTABLE_USAGE).then((code) => {
  process.exitCode = code;
  // As in the bundle: the SDK's retry timers must not hold the container's exit after a deadline.
  process.exit();
});
