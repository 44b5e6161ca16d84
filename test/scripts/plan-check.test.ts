/**
 * `kms-secrets plan-check` reading a plan it is given (the path without Terraform): the verdict on stdout,
 * the exit code CI acts on, and clear errors for what it cannot read. Planning for real, as the deployer,
 * is tried in test/terraform/escalation.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { makeProject, type TestProject } from '../support/project.ts';

let project: TestProject;
afterEach(() => project?.remove());

const plan = (...changes: [address: string, actions: string[]][]) => JSON.stringify({
  format_version: '1.2',
  resource_changes: changes.map(([address, actions]) => ({ address, mode: 'managed', type: address.split('.')[0], change: { actions } })),
});
const check = (args: string[]) => runCli(['plan-check', ...args], { cwd: project.root });

describe('plan-check --plan FILE', () => {
  it('exit 0: only ciphertext objects change, so the deployer may apply', async () => {
    project = makeProject();
    project.write('plan.json', plan(['aws_s3_object.objects_api_token_1', ['update']], ['aws_s3_object.objects_web_key_2', ['create']], ['aws_kms_key.key_3', ['no-op']]));
    const run = await check(['staging', '--plan', 'plan.json']);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('plan-check staging: only ciphertext objects change (1 to add, 1 to change, 0 to destroy): the deployer can apply this plan\n');
  });

  it('exit 3: a role or a key policy changes, so an administrator must apply; each such change is named', async () => {
    project = makeProject();
    project.write('plan.json', plan(['aws_iam_role.service-billing_role_1', ['create']], ['aws_kms_key_policy.key_policy_2', ['update']], ['aws_s3_object.objects_billing_token_3', ['create']]));
    const run = await check(['staging', '--plan', 'plan.json']);

    expect(run.code).toBe(3);
    expect(run.stdout).toBe('plan-check staging: this plan changes more than ciphertext objects, so an administrator must apply it; the deployer holds no IAM, key or bucket right:\n'
      + '  aws_iam_role.service-billing_role_1 (create)\n'
      + '  aws_kms_key_policy.key_policy_2 (update)\n'
      + '  and 1 ciphertext object (1 to add, 0 to change, 0 to destroy)\n');
  });

  it('says there is nothing to apply for a plan without changes', async () => {
    project = makeProject();
    project.write('plan.json', plan());
    expect((await check(['staging', '--plan', 'plan.json'])).stdout).toBe('plan-check staging: no changes; nothing to apply\n');
  });

  it.each([
    [['--plan', 'plan.json'], /^kms-secrets: plan-check takes exactly one env/],
    [['Staging', '--plan', 'plan.json'], /^kms-secrets: env name "Staging" must match/],
    [['staging', '--plan', 'missing.json'], /^kms-secrets: no plan at .*missing\.json\nhint: save one with terraform plan -out=FILE/],
    [['staging', '--plan', 'not-a-plan.json'], /^kms-secrets: the plan of env staging cannot be read: not the JSON of a Terraform plan/],
  ])('exit 1 with a clear message for %j', async (args, message) => {
    project = makeProject();
    project.write('plan.json', plan());
    project.write('not-a-plan.json', '{"resources": []}');
    const run = await check(args);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });
});
