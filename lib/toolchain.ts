/**
 * Which CDK a project synthesizes and deploys with: CDK for Terraform (`cdktf`, archived in December 2025) or
 * CDK Terrain (`cdktn`), its continuation. kms-secrets.json's `"toolchain"` chooses; the code in stacks/ is the
 * same for both, since under CDK Terrain the name `cdktf` resolves to `cdktn` (what an npm override
 * `"cdktf": "npm:cdktn@…"` does in a project of its own). The AWS provider bindings stay `@cdktf/provider-aws`
 * 20.1 (provider 5.100) under either: they load whichever core `cdktf` names.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import nodeModule, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SettingsError } from './errors.ts';

export const TOOLCHAINS = ['cdktf', 'cdktn'] as const;
export type Toolchain = (typeof TOOLCHAINS)[number];

interface ToolchainFacts {
  /** The npm package of the construct library. */
  readonly core: string;
  /** The CLI's entry file, as a module path. */
  readonly cli: string;
  /** Whether a Node runs the CLI and the core (their `engines`; under cdktn, module.registerHooks too). */
  supports(major: number, minor: number): boolean;
  /** Which Node it needs, for messages. */
  readonly needs: string;
}

export const TOOLCHAIN_FACTS: Readonly<Record<Toolchain, ToolchainFacts>> = {
  cdktf: { core: 'cdktf', cli: 'cdktf-cli/bundle/bin/cdktf', needs: '20.6 or later', supports: (major, minor) => major > 20 || (major === 20 && minor >= 6) },
  cdktn: {
    core: 'cdktn',
    cli: 'cdktn-cli/bundle/bin/cdktn.js',
    // cdktn-cli's engines say >= 22.19; module.registerHooks arrived in 23.5 on the 23 line.
    needs: '22.19 or later (23.5 or later on Node 23)',
    supports: (major, minor) => major >= 24 || (major === 23 && minor >= 5) || (major === 22 && minor >= 19),
  },
};

/** The toolchain a settings value names; anything else is an error naming both. */
export function readToolchain(value: unknown, where: string): Toolchain {
  if (value === undefined) return 'cdktf';
  if (typeof value === 'string' && (TOOLCHAINS as readonly string[]).includes(value)) return value as Toolchain;
  throw new SettingsError(`${where}: toolchain must be one of ${TOOLCHAINS.map((name) => `"${name}"`).join(', ')}, not ${JSON.stringify(value)}`);
}

/** Refuses a Node the toolchain does not run on, before anything starts: what to run instead. */
export function assertNodeFor(toolchain: Toolchain, nodeVersion = process.versions.node): void {
  const [major, minor] = nodeVersion.split('.').map(Number) as [number, number];
  const facts = TOOLCHAIN_FACTS[toolchain];
  if (facts.supports(major, minor)) return;
  throw new SettingsError(`this project's toolchain is ${toolchain} (kms-secrets.json "toolchain"), which needs Node ${facts.needs}; this is Node ${nodeVersion}`, {
    hint: toolchain === 'cdktn'
      ? 'run it with Node 22.19 or later (Node 24 is the current LTS line), or set "toolchain": "cdktf" to keep CDK for Terraform'
      : `run it with Node ${facts.needs}`,
  });
}

/** The CLI's entry file for `projectRoot`'s installed packages; a missing package says what to install. */
export function toolchainCli(projectRoot: string, toolchain: Toolchain): string {
  const facts = TOOLCHAIN_FACTS[toolchain];
  try {
    return createRequire(join(projectRoot, 'package.json')).resolve(facts.cli);
  } catch {
    const cliPackage = facts.cli.split('/')[0]!;
    throw new SettingsError(`this project's toolchain is ${toolchain}, but ${cliPackage} is not installed in ${projectRoot}`, { hint: `run npm install --save-dev ${cliPackage}` });
  }
}

/**
 * cdktf-cli 0.21 starts Terraform in a terminal of its own, a native module whose prebuilt binaries stop at Node 22
 * (ABI 127): on a newer Node it must have been built at install time (Python 3, make, a C++ compiler), or the CLI
 * crashes with a stack trace. Refused here instead, naming both ways out. `cli` is cdktf-cli's entry file.
 */
export function assertCdktfNativeModule(cli: string): void {
  const load = createRequire(cli);
  let ptyPackage: string;
  try {
    ptyPackage = dirname(load.resolve('@cdktf/node-pty-prebuilt-multiarch/package.json'));
  } catch {
    return; // a cdktf-cli without it does not need it
  }
  // The module's own choice of prebuilt binary for this Node (a file check: nothing native is loaded).
  const { ptyPath } = load(join(ptyPackage, 'lib', 'prebuild-file-path.js')) as { ptyPath: string | null };
  if (ptyPath) return;
  // Else it loads what was built at install time, if anything; its loader prints a stack trace of its own when that
  // fails, so the check runs in a child whose output is dropped.
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ptyPackage)})`], { stdio: 'ignore', timeout: 30_000 });
  if (check.status === 0) return;
  const { version } = JSON.parse(readFileSync(join(ptyPackage, 'package.json'), 'utf8')) as { version: string };
  throw new SettingsError(
    `cdktf-cli cannot start on Node ${process.versions.node}: its native module @cdktf/node-pty-prebuilt-multiarch ${version} has no prebuilt binary for this Node (ABI ${process.versions.modules}), and no build of it loads here`,
    { hint: 'build it with `npm rebuild @cdktf/node-pty-prebuilt-multiarch` (needs Python 3, make and a C++ compiler), or move to CDK Terrain ("toolchain": "cdktn" in kms-secrets.json), whose CLI does not use it' },
  );
}

type ResolveHook = (specifier: string, context: object, nextResolve: (specifier: string, context: object) => unknown) => unknown;

let aliased = false;

/**
 * Makes `cdktf` (and `cdktf/…`) resolve to the toolchain's core for every import and require that follows, the
 * provider bindings' included, so one core builds the whole app. Call it before anything loads `cdktf`.
 */
export function useToolchainCore(toolchain: Toolchain): void {
  assertNodeFor(toolchain);
  if (toolchain === 'cdktf' || aliased) return;
  const core = TOOLCHAIN_FACTS[toolchain].core;
  try {
    createRequire(import.meta.url).resolve(core);
  } catch {
    throw new SettingsError(`this project's toolchain is ${toolchain}, but its core library, ${core}, is not installed`, { hint: `run npm install --save-dev ${core}` });
  }
  // Node 22.15 / 23.5 and later (assertNodeFor made sure); the types here are Node 20's, which lack it.
  const { registerHooks } = nodeModule as unknown as { registerHooks: (hooks: { resolve: ResolveHook }) => void };
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const aliasOf = specifier === 'cdktf' || specifier.startsWith('cdktf/') ? core + specifier.slice('cdktf'.length) : specifier;
      return nextResolve(aliasOf, context);
    },
  });
  aliased = true;
}
