#!/usr/bin/env node
// The kms-secrets CLI. In the published package it runs the compiled dist/scripts/cli.js. In a checkout,
// its TypeScript sources are bundled with esbuild into .cache/cli/ on first use and again whenever a source
// is newer than the bundle: one file starts in ~0.2 s, where tsx compiles and resolves every module on each
// run (~0.6 s). Without esbuild or a writable .cache/, the sources run through tsx.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'scripts', 'cli.ts');
const bundle = join(root, '.cache', 'cli', 'kms-secrets.mjs');
const inputsFile = `${bundle}.inputs.json`;

const { main } = await loadCli();
process.exitCode = await main(process.argv.slice(2));
// Timers the SDK's retries leave behind when the deadline stops a start (backoff, the adaptive rate limiter)
// would keep the process alive for up to 40 s more; they must not hold the container's exit. (stdout and
// stderr are written synchronously to files, pipes and terminals on Linux, so nothing is lost.)
if (['exec', 'write'].includes(process.argv[2])) process.exit();

async function loadCli() {
  // The package has no sources, only what `npm run build` compiled.
  if (!existsSync(entry)) return import(pathToFileURL(join(root, 'dist', 'scripts', 'cli.js')).href);
  try {
    if (!isFresh()) await build();
    return await import(pathToFileURL(bundle).href);
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(entry).href);
  }
}

/** The bundle exists and is newer than every project source it was built from and the lockfile. */
function isFresh() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const sources = JSON.parse(readFileSync(inputsFile, 'utf8'));
  return [...sources, 'package-lock.json'].every((source) => {
    try {
      return statSync(join(root, source)).mtimeMs < built;
    } catch {
      return false; // a source was removed or renamed
    }
  });
}

async function build() {
  const { build: esbuild } = await import('esbuild');
  const { mkdir, rename, writeFile } = await import('node:fs/promises');
  await mkdir(dirname(bundle), { recursive: true });
  // Concurrent first runs each build to their own temp file; the renames make the last one win whole.
  const temp = `${bundle}.${process.pid}.tmp`;
  const { metafile } = await esbuild({
    entryPoints: [entry],
    outfile: temp,
    absWorkingDir: root, // so the metafile names inputs relative to the project root
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    // Bundled CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as kmsSecretsCreateRequire } from 'node:module'; const require = kmsSecretsCreateRequire(import.meta.url);" },
  });
  const sources = Object.keys(metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
  await writeFile(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(sources));
  await rename(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  await rename(temp, bundle);
}
