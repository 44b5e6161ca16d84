/**
 * `npm run build:runtime`: the runtime as one file, dist/kms-secrets-runtime.mjs, so a container image
 * needs only `node` and that file. Its entry is runtime/main.ts (exec and write only): nothing of
 * cdktf, glob, the stacks or the operator commands can be reached from it.
 */
import { build, type Metafile } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RUNTIME_BUNDLE = join(REPO_ROOT, 'dist', 'kms-secrets-runtime.mjs');

/** Builds the bundle at `outfile`; the metafile says which sources went into it. */
export async function buildRuntimeBundle(outfile: string = RUNTIME_BUNDLE): Promise<Metafile> {
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'runtime', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The SDK's CommonJS modules call require() for Node built-ins, which an ES module lacks.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const metafile = await buildRuntimeBundle();
  const bytes = Object.values(metafile.outputs)[0]!.bytes;
  process.stdout.write(`${RUNTIME_BUNDLE} (${(bytes / 1024).toFixed(0)} KiB)\n`);
}
