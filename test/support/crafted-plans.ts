/**
 * Plans an attacker would hand to plan-check: a synthesized stack's cdk.tf.json edited in place, planned by
 * Terraform itself and saved, for `kms-secrets plan-check <env> --plan <file>` (plan-check without --plan
 * synthesizes again, which would undo the edit). Each craft is one thing the deployer must never apply.
 *
 *   const restore = craftStack(project.root, 'demo', crafts.provisioner());
 *   const { code, planFile } = await planStack(project.root, 'demo', adminEnv);  // code 0; planFile is absolute
 *   const check = await runCli(['plan-check', 'demo', '--plan', planFile], { cwd: project.root, env });
 *   restore();
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DECLARED_PREFIX } from '../../lib/declared.ts';
import { runTerraform } from '../../scripts/terraform.ts';

type Block = Record<string, unknown>;
/** The parts of a synthesized cdk.tf.json a craft edits. */
export interface StackJson {
  resource: Record<string, Record<string, Block>>;
  removed?: Block[];
  [block: string]: unknown;
}
export type Craft = (stack: StackJson) => void;

export const stackDirOf = (projectRoot: string, env: string) => join(projectRoot, 'cdktf.out', 'stacks', env);

/** Applies `craft` to the env's cdk.tf.json; returns what puts the file back as it was. */
export function craftStack(projectRoot: string, env: string, craft: Craft): () => void {
  const file = join(stackDirOf(projectRoot, env), 'cdk.tf.json');
  const original = readFileSync(file, 'utf8');
  const stack = JSON.parse(original) as StackJson;
  craft(stack);
  writeFileSync(file, JSON.stringify(stack, null, 2));
  return () => writeFileSync(file, original);
}

/** The stack's first ciphertext object (not a declared list), or the one with `key`. */
export function ciphertextObject(stack: StackJson, key?: string): Block {
  const found = Object.values(stack.resource.aws_s3_object ?? {})
    .find((object) => typeof object.key === 'string' && !object.key.startsWith(DECLARED_PREFIX) && (key === undefined || object.key === key));
  if (!found) throw new Error(`the stack has no ciphertext object${key ? ` with key ${key}` : ''}`);
  return found;
}

export const crafts = {
  /** A setting of the stack's AWS provider that the stack never writes, e.g. a CA bundle of one's choosing. */
  providerSetting: (setting: string, value: unknown): Craft => (stack) => {
    const providers = (stack.provider as { aws: Block[] }).aws;
    providers[0]![setting] = value;
  },
  /**
   * A local-exec provisioner on a ciphertext object. It runs, with the deployer's credentials, when the object is
   * created (a new secret's object); plan-check refuses it on any change of the object. On an object the plan
   * does not change it runs nothing, and the plan is "no changes": rotate the object's file too.
   */
  provisioner: (command = 'echo provisioner-ran', key?: string): Craft => (stack) => {
    ciphertextObject(stack, key).provisioner = [{ 'local-exec': { command } }];
  },
  /** A ciphertext object written to another bucket (another env's). */
  foreignBucket: (bucket: string, key?: string): Craft => (stack) => {
    ciphertextObject(stack, key).bucket = bucket;
  },
  /** A ciphertext object uploaded from another file of the project, e.g. `state/demo-eu.tfstate`; etag its MD5 as the stack writes it. */
  foreignSource: (projectPath: string, key?: string): Craft => (stack) => {
    const object = ciphertextObject(stack, key);
    object.source = `../../../${projectPath}`;
    object.etag = `\${filemd5("../../../${projectPath}")}`;
  },
  /** A ciphertext object under another key, e.g. a refused name (`api/node-options`) or an undeclared one. */
  key: (newKey: string, key?: string): Craft => (stack) => {
    ciphertextObject(stack, key).key = newKey;
  },
  /**
   * The only resource of `type` (e.g. aws_kms_key_policy) taken out of the configuration by a `removed` block:
   * forgotten (destroy = false), or destroyed with a destroy-time `provisioner` command, which
   * `terraform show -json` shows as an ordinary delete.
   */
  removed: (type: string, options: { destroy?: boolean; provisioner?: string; name?: string } = {}): Craft => (stack) => {
    const names = Object.keys(stack.resource[type] ?? {}).filter((name) => options.name === undefined || name === options.name);
    if (names.length !== 1) throw new Error(`expected one ${type}${options.name ? ` named ${options.name}` : ''}, found ${names.length}`);
    delete stack.resource[type]![names[0]!];
    // Terraform refuses a resource type without resources.
    if (Object.keys(stack.resource[type]!).length === 0) delete stack.resource[type];
    stack.removed = [...(stack.removed ?? []), {
      from: `${type}.${names[0]}`,
      lifecycle: [{ destroy: options.destroy ?? false }],
      ...(options.provisioner ? { provisioner: [{ 'local-exec': { when: 'destroy', command: options.provisioner } }] } : {}),
    }];
  },
};

/**
 * `terraform plan -out=<file>` in the env's stack folder (already initialized, e.g. by a deploy), with the given
 * process environment (credentials, endpoint). A failed plan is still saved (errored), as Terraform does.
 */
export async function planStack(projectRoot: string, env: string, processEnv: NodeJS.ProcessEnv, options: { file?: string; args?: string[] } = {}) {
  const stackDir = stackDirOf(projectRoot, env);
  const planFile = join(stackDir, options.file ?? 'crafted.tfplan');
  const run = await runTerraform(projectRoot, stackDir, ['plan', '-input=false', '-no-color', `-out=${planFile}`, ...(options.args ?? [])], { output: 'capture', env: processEnv });
  return { code: run.code, output: `${run.stdout}${run.stderr}`, planFile };
}
