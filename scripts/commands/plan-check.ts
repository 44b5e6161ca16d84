/**
 * `kms-secrets plan-check <env>`: plans the env's stack, saves the plan, and says who may apply it — the
 * deployer (only uploads of the env's declared ciphertext files, lib/plan-verdict.ts) or an administrator
 * (anything else). Exit 0 or 3, so a CI job stops before an apply the deployer must not make. The saved plan
 * is what the CI job then applies.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArguments } from '../../lib/arguments.ts';
import { KmsSecretsError, UsageError } from '../../lib/errors.ts';
import { assertEnvName } from '../../lib/naming.ts';
import { PlanFormatError, planVerdict, UnusablePlanError, type PlannedChange, type PlanVerdict } from '../../lib/plan-verdict.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { printable } from '../../lib/printable.ts';
import { loadSettings } from '../../lib/settings.ts';
import { runCdktf } from '../cdktf.ts';
import { runTerraform } from '../terraform.ts';
import type { Command } from './index.ts';

/** The plan needs an administrator: a distinct code, so CI tells it from an error (1) and a usage mistake (2). */
export const EXIT_NEEDS_ADMINISTRATOR = 3;
export const PLAN_FILE = 'plan.tfplan';

const USAGE = `usage: kms-secrets plan-check <env> [--plan FILE]

Synthesizes the app, plans the env's stack with the credentials at hand and saves the plan as
cdktf.out/stacks/<env>/${PLAN_FILE}, then says who may apply it:
  exit 0  only the env's declared ciphertext objects are created or updated from their files (or
          nothing changes): the deployer can apply it, with
          terraform -chdir=cdktf.out/stacks/<env> apply ${PLAN_FILE}
  exit ${EXIT_NEEDS_ADMINISTRATOR}  anything else (IAM, the key, the bucket, a declared list, a provisioner, a delete,
          a removed, moved or import block, drift…): an administrator must apply it; each reason is listed
  exit 1  the plan cannot be read, or Terraform did not finish it (errored, incomplete)

      --plan FILE  check a plan saved already (terraform plan -out), or its terraform show -json output,
                   instead of planning
`;

export const planCheck: Command = {
  summary: 'plan an env and say whether the deployer may apply it (exit 0) or an administrator must (exit 3)',
  async run(args) {
    const { values, positionals } = parseArguments({
      args: [...args],
      allowPositionals: true,
      options: { plan: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('plan-check takes exactly one env, e.g. kms-secrets plan-check staging', { hint: USAGE.split('\n')[0] });
    const env = positionals[0]!;
    assertEnvName(env);
    const projectRoot = findProjectRoot();
    const stackDir = join(projectRoot, 'cdktf.out', 'stacks', env);
    const settings = loadSettings(projectRoot).forEnv(env);
    const planJson = values.plan === undefined ? await planEnv(projectRoot, env, stackDir) : await readPlan(projectRoot, resolve(values.plan), stackDir);
    let verdict: PlanVerdict;
    try {
      verdict = planVerdict(parsePlan(planJson), {
        env, bucketName: settings.bucketName, projectRoot, stackDir, readFileMd5: treeFileMd5(projectRoot),
        allowLoaderVariables: settings.allowLoaderVariables, local: settings.local,
      });
    } catch (error) {
      if (error instanceof UnusablePlanError) throw new KmsSecretsError(`the plan of env ${env} cannot be used: ${error.message}`, { hint: 'fix what terraform plan reported, then plan again' });
      if (!(error instanceof PlanFormatError)) throw error;
      throw new KmsSecretsError(`the plan of env ${env} cannot be read: ${error.message}`, { hint: 'pass a file written by terraform plan -out, or by terraform show -json' });
    }
    const applyHint = values.plan === undefined ? `terraform -chdir=${relative(projectRoot, stackDir)} apply ${PLAN_FILE}` : undefined;
    process.stdout.write(report(env, verdict, applyHint));
    return verdict.needsAdministrator.length > 0 ? EXIT_NEEDS_ADMINISTRATOR : 0;
  },
};

function parsePlan(planJson: string): unknown {
  try {
    return JSON.parse(planJson);
  } catch (error) {
    throw new PlanFormatError(`not JSON (${(error as Error).message})`);
  }
}

/**
 * The MD5 of a regular file of the project reached through no symbolic link: an object uploaded from
 * secrets/<env>/<key> must be that file, not what a link planted in the tree points at (a state file).
 */
function treeFileMd5(projectRoot: string): (path: string) => string | undefined {
  const root = realpathSync(projectRoot);
  return (path) => {
    try {
      if (realpathSync(path) !== join(root, relative(projectRoot, path)) || !lstatSync(path).isFile()) return undefined;
      return createHash('md5').update(readFileSync(path)).digest('hex');
    } catch {
      return undefined;
    }
  };
}

/** Synth, then init and plan in the stack's folder, saving the plan; Terraform's own output goes to stderr. */
async function planEnv(projectRoot: string, env: string, stackDir: string): Promise<string> {
  const synth = await runCdktf(projectRoot, ['synth']);
  if (synth.code !== 0) throw new KmsSecretsError(`${synth.toolchain} synth failed:\n${synth.output.trim()}`);
  if (!existsSync(stackDir)) {
    throw new KmsSecretsError(`there is no stack for env "${env}" (no ${relative(projectRoot, stackDir)})`, { hint: `an env is a directory: mkdir -p secrets/${env}` });
  }
  for (const step of [['init', '-input=false'], ['plan', '-input=false', `-out=${PLAN_FILE}`]]) {
    const run = await runTerraform(projectRoot, stackDir, step, { output: 'stderr' });
    if (run.code !== 0) throw new KmsSecretsError(`terraform ${step[0]} of env ${env} failed (its output is above); nothing was applied`);
  }
  return show(projectRoot, stackDir, PLAN_FILE);
}

async function readPlan(projectRoot: string, file: string, stackDir: string): Promise<string> {
  if (!existsSync(file)) throw new KmsSecretsError(`no plan at ${file}`, { hint: 'save one with terraform plan -out=FILE, or leave out --plan' });
  const content = readFileSync(file);
  return content[0] === '{'.charCodeAt(0) ? content.toString('utf8') : show(projectRoot, stackDir, file);
}

async function show(projectRoot: string, stackDir: string, planFile: string): Promise<string> {
  const run = await runTerraform(projectRoot, stackDir, ['show', '-json', planFile], { output: 'capture' });
  if (run.code !== 0) throw new KmsSecretsError(`terraform show -json ${planFile} failed: ${run.stderr.trim()}`);
  return run.stdout;
}

function report(env: string, verdict: PlanVerdict, applyHint: string | undefined): string {
  const objects = verdict.ciphertextChanges;
  if (verdict.needsAdministrator.length === 0) {
    if (verdict.changes.length === 0) return `plan-check ${env}: no changes; nothing to apply\n`;
    return `plan-check ${env}: only ciphertext objects change (${counts(objects)}): the deployer can apply this plan\n`
      + (applyHint ? `  apply it with: ${applyHint}\n` : '');
  }
  // Addresses and actions come from the plan file as they are: a crafted one may hold escape sequences.
  const lines = verdict.needsAdministrator.map((refusal) => `  ${printable(refusal.subject)} (${printable(refusal.action)})${refusal.reason === undefined ? '' : `: ${refusal.reason}`}`);
  const also = objects.length > 0 ? [`  and ${objects.length} ciphertext object${objects.length === 1 ? '' : 's'} (${counts(objects)})`] : [];
  return `plan-check ${env}: this plan changes more than ciphertext objects, so an administrator must apply it; the deployer may only upload the env's declared ciphertext files:\n`
    + `${[...lines, ...also].join('\n')}\n`;
}

function counts(changes: readonly PlannedChange[]): string {
  const count = (action: string) => changes.filter((change) => change.action === action).length;
  return `${count('create') + count('replace')} to add, ${count('update')} to change, ${count('delete') + count('replace')} to destroy`;
}
