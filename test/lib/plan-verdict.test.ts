/** Who may apply a plan, from Terraform's JSON plan: the deployer for ciphertext objects only, else an administrator. */
import { describe, expect, it } from 'vitest';
import { PlanFormatError, planVerdict } from '../../lib/plan-verdict.ts';

const plan = (...changes: [type: string, actions: string[], mode?: string][]) => JSON.stringify({
  format_version: '1.2',
  resource_changes: changes.map(([type, actions, mode = 'managed'], i) => ({ address: `${type}.r${i}`, mode, type, change: { actions } })),
});

describe('planVerdict', () => {
  it('leaves a plan that creates, updates, replaces and deletes only ciphertext objects to the deployer', () => {
    const verdict = planVerdict(plan(['aws_s3_object', ['create']], ['aws_s3_object', ['update']], ['aws_s3_object', ['delete', 'create']], ['aws_s3_object', ['delete']]));
    expect(verdict.changes.map((c) => c.action)).toEqual(['create', 'update', 'replace', 'delete']);
    expect(verdict.needsAdministrator).toEqual([]);
  });

  it.each([
    ['a new task role', 'aws_iam_role', ['create']],
    ['a changed inline policy', 'aws_iam_role_policy', ['update']],
    ['a changed managed policy', 'aws_iam_policy', ['update']],
    ['the key policy', 'aws_kms_key_policy', ['update']],
    ['the alias', 'aws_kms_alias', ['delete', 'create']],
    ['the bucket policy', 'aws_s3_bucket_policy', ['update']],
    ['the lifecycle rule', 'aws_s3_bucket_lifecycle_configuration', ['update']],
  ])('needs an administrator for %s', (_name, type, actions) => {
    const verdict = planVerdict(plan(['aws_s3_object', ['create']], [type, actions]));
    expect(verdict.needsAdministrator).toEqual([{ address: `${type}.r1`, type, action: actions.length === 2 ? 'replace' : actions[0] }]);
  });

  it('ignores what writes nothing: no-op changes and data source reads', () => {
    expect(planVerdict(plan(['aws_iam_role', ['no-op']], ['aws_caller_identity', ['read'], 'data'])).changes).toEqual([]);
  });

  it('refuses what is not a Terraform JSON plan', () => {
    expect(() => planVerdict('not json')).toThrow(PlanFormatError);
    expect(() => planVerdict('{"resources": []}')).toThrow(/format_version 1\.x/);
  });
});
