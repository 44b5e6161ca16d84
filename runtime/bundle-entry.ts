/**
 * The entry of dist/kms-secrets-runtime.mjs. The runtime (runtime/main.ts) is in this file as CommonJS
 * text, compiled here with V8's code cache when `<this file>.cache` holds one that `code-cache` made for
 * this text, and V8 accepts it (it refuses a cache of another node version or other V8 flags). Parsing and
 * compiling the 2 MB of AWS SDK is otherwise a fifth of a container start: the cache takes ~40 ms off
 * ~195 ms on a 2-vCPU machine, and holding the text as a string costs ~5 ms when there is no cache.
 * Node 20 has no code cache for ES modules (module.enableCompileCache came with Node 22), hence the text.
 * The cache holds compiled code only; it is made before anything is loaded, so no secret is ever in it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** Set by runtime/build.ts: the bundled runtime, wrapped as a CommonJS module function. */
declare const RUNTIME_SOURCE: string;
/** Set by runtime/build.ts: a digest of RUNTIME_SOURCE. A cache starts with it, so one made for another build is never used. */
declare const RUNTIME_SOURCE_ID: string;

type Runtime = { main(argv: readonly string[]): Promise<number> };
type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

const file = fileURLToPath(import.meta.url);
const cacheFile = `${file}.cache`;
const id = Buffer.from(RUNTIME_SOURCE_ID, 'latin1');

const script = new Script(RUNTIME_SOURCE, { filename: file, cachedData: readCache() });
const runtime = { exports: {} };
(script.runInThisContext() as ModuleFunction)(runtime.exports, createRequire(file), runtime, file, dirname(file));

if (process.argv[2] === 'code-cache') {
  // Made after the modules ran, so that the functions compiled meanwhile are in it too.
  writeFileSync(cacheFile, Buffer.concat([id, script.createCachedData()]));
  process.stdout.write(`${cacheFile}\n`);
} else {
  process.exitCode = await (runtime.exports as Runtime).main(process.argv.slice(2));
  // Timers the SDK's retries leave behind when the deadline stops a start (backoff, the adaptive rate
  // limiter) would keep the process alive for up to 40 s more; they must not hold the container's exit.
  process.exit();
}

function readCache(): Buffer | undefined {
  try {
    const data = readFileSync(cacheFile);
    return data.subarray(0, id.length).equals(id) ? data.subarray(id.length) : undefined;
  } catch {
    return undefined; // none: compiled from the text, as without a cache
  }
}
