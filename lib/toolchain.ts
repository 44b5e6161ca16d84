/**
 * Which CDK a project synthesizes and deploys with: CDK for Terraform (`cdktf`, archived in December 2025) or
 * CDK Terrain (`cdktn`), its continuation. kms-secrets.json's `"toolchain"` chooses; the code in stacks/ is the
 * same for both, since under CDK Terrain the name `cdktf` resolves to `cdktn` (what an npm override
 * `"cdktf": "npm:cdktn@…"` does in a project of its own). The AWS provider bindings stay `@cdktf/provider-aws`
 * 20.1 (provider 5.100) under either: they load whichever core `cdktf` names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  /** The command a user types. */
  readonly command: string;
  /** The oldest Node the CLI and core run on (their `engines`; module.registerHooks needs 22.15). */
  readonly minimumNode: readonly [number, number];
}

export const TOOLCHAIN_FACTS: Readonly<Record<Toolchain, ToolchainFacts>> = {
  cdktf: { core: 'cdktf', cli: 'cdktf-cli/bundle/bin/cdktf', command: 'cdktf', minimumNode: [20, 6] },
  cdktn: { core: 'cdktn', cli: 'cdktn-cli/bundle/bin/cdktn.js', command: 'cdktn', minimumNode: [22, 19] },
};

/** The toolchain a settings value names; anything else is an error naming both. */
export function readToolchain(value: unknown, where: string): Toolchain {
  if (value === undefined) return 'cdktf';
  if (typeof value === 'string' && (TOOLCHAINS as readonly string[]).includes(value)) return value as Toolchain;
  throw new SettingsError(`${where}: toolchain must be one of ${TOOLCHAINS.map((name) => `"${name}"`).join(', ')}, not ${JSON.stringify(value)}`);
}

/** Refuses a Node older than the toolchain runs on, before anything starts: what to run instead. */
export function assertNodeFor(toolchain: Toolchain, nodeVersion = process.versions.node): void {
  const [major, minor] = nodeVersion.split('.').map(Number) as [number, number];
  const [needMajor, needMinor] = TOOLCHAIN_FACTS[toolchain].minimumNode;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  throw new SettingsError(`this project's toolchain is ${toolchain} (kms-secrets.json "toolchain"), which needs Node >= ${needMajor}.${needMinor}; this is Node ${nodeVersion}`, {
    hint: toolchain === 'cdktn'
      ? 'run it with Node 22.19 or later (Node 24 is the current LTS line), or set "toolchain": "cdktf" to keep CDK for Terraform'
      : `run it with Node ${needMajor}.${needMinor} or later`,
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
  let ptyPackage: string;
  try {
    ptyPackage = dirname(createRequire(cli).resolve('@cdktf/node-pty-prebuilt-multiarch/package.json'));
  } catch {
    return; // a cdktf-cli without it does not need it
  }
  const prebuilt = join(ptyPackage, 'prebuilds', `${process.platform}-${process.arch}`, `node.abi${process.versions.modules}.node`);
  if (existsSync(prebuilt)) return;
  // Its loader prints a stack trace of its own when it fails: loaded in a child whose output is dropped.
  if (spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ptyPackage)})`], { stdio: 'ignore' }).status === 0) return;
  const { version } = JSON.parse(readFileSync(join(ptyPackage, 'package.json'), 'utf8')) as { version: string };
  throw new SettingsError(
    `cdktf-cli cannot start on Node ${process.versions.node}: its native module @cdktf/node-pty-prebuilt-multiarch ${version} has no prebuilt binary for this Node (ABI ${process.versions.modules}), and none was built when it was installed`,
    { hint: 'build it with `npm rebuild @cdktf/node-pty-prebuilt-multiarch` (needs Python 3, make and a C++ compiler), or move to CDK Terrain ("toolchain": "cdktn" in kms-secrets.json), whose CLI has no native module' },
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
  aliased = true;
  const core = TOOLCHAIN_FACTS[toolchain].core;
  // Node >= 22.15 (assertNodeFor made sure); the types here are Node 20's, which lack it.
  const { registerHooks } = nodeModule as unknown as { registerHooks: (hooks: { resolve: ResolveHook }) => void };
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const aliasOf = specifier === 'cdktf' || specifier.startsWith('cdktf/') ? core + specifier.slice('cdktf'.length) : specifier;
      return nextResolve(aliasOf, context);
    },
  });
}
