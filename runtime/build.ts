/**
 * `npm run build:runtime`: the runtime as one file, dist/kms-secrets-runtime.mjs, so a container image
 * needs only `node` and that file. Its runtime is runtime/main.ts (exec and write only): nothing of
 * cdktf, glob, the stacks or the operator commands can be reached from it. Next to it goes
 * `kms-secrets-runtime.mjs.cache`, V8's code cache for the node that built it (see runtime/bundle-entry.ts);
 * an image with another node makes its own with `node kms-secrets-runtime.mjs code-cache`.
 */
import { build, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RUNTIME_BUNDLE = join(REPO_ROOT, 'dist', 'kms-secrets-runtime.mjs');
/** The version `--version` prints. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Builds the bundle at `outfile` and its code cache; the metafile says which sources went into the runtime. */
export async function buildRuntimeBundle(outfile: string = RUNTIME_BUNDLE): Promise<Metafile> {
  const runtime = await build({
    entryPoints: [join(REPO_ROOT, 'runtime', 'main.ts')],
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS text, which node:vm can compile with a code cache (runtime/bundle-entry.ts).
    format: 'cjs',
    // node:vm code cannot import() (Node 20 wants --experimental-vm-modules for it): the SDK's few
    // import("node:…") calls, e.g. the region from EC2 instance metadata, become require().
    supported: { 'dynamic-import': false },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    define: { KMS_SECRETS_VERSION: JSON.stringify(PACKAGE_VERSION) },
  });
  const source = `(function (exports, require, module, __filename, __dirname) {${runtime.outputFiles[0]!.text}\n})`;
  await build({
    entryPoints: [join(REPO_ROOT, 'runtime', 'bundle-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    define: {
      RUNTIME_SOURCE: JSON.stringify(source),
      RUNTIME_SOURCE_ID: JSON.stringify(createHash('sha256').update(source).digest('hex').slice(0, 32)),
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
  execFileSync(process.execPath, [outfile, 'code-cache'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return runtime.metafile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const metafile = await buildRuntimeBundle();
  const bytes = Object.values(metafile.outputs)[0]!.bytes;
  // On stderr: `npm pack --json` runs this build and prints its JSON on the same stdout.
  process.stderr.write(`built ${RUNTIME_BUNDLE} (${(bytes / 1024).toFixed(0)} KiB) and its code cache\n`);
}
