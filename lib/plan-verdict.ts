/**
 * Who may apply a Terraform plan of an env's stack, read from `terraform show -json` of the saved plan:
 * the deployer when only ciphertext objects (aws_s3_object) are created, updated or deleted; an
 * administrator for anything else — roles, policies, the key or its policy, the bucket and its settings.
 * Deciding before apply means a CI job never stops half-way with the objects uploaded and the roles not.
 */

/** The part of Terraform's JSON plan representation this reads (format_version 1.x). */
interface JsonPlan {
  readonly format_version?: string;
  readonly resource_changes?: readonly {
    readonly address: string;
    readonly mode: 'managed' | 'data';
    readonly type: string;
    readonly change: { readonly actions: readonly string[] };
  }[];
}

export interface PlannedChange {
  /** e.g. `aws_iam_role.service-billing_role_1A2B3C4D` */
  readonly address: string;
  readonly type: string;
  /** `create`, `update`, `delete`, or `replace` (delete and create). */
  readonly action: string;
}

export interface PlanVerdict {
  /** Every change the plan makes, in plan order. */
  readonly changes: readonly PlannedChange[];
  /** The changes only an administrator may apply (empty: the deployer may apply the plan). */
  readonly needsAdministrator: readonly PlannedChange[];
}

/** The only resource the deployer writes: the env's ciphertext objects. */
const CIPHERTEXT_TYPE = 'aws_s3_object';

export class PlanFormatError extends Error {}

export function planVerdict(planJson: string): PlanVerdict {
  let plan: JsonPlan;
  try {
    plan = JSON.parse(planJson) as JsonPlan;
  } catch (error) {
    throw new PlanFormatError(`not JSON (${(error as Error).message})`);
  }
  if (typeof plan !== 'object' || plan === null || !String(plan.format_version ?? '').startsWith('1.')) {
    throw new PlanFormatError('not the JSON of a Terraform plan (terraform show -json <plan file>, format_version 1.x)');
  }
  const changes = (plan.resource_changes ?? [])
    .filter((resource) => resource.mode === 'managed')
    .map((resource) => ({ address: resource.address, type: resource.type, action: actionOf(resource.change.actions) }))
    .filter((change): change is PlannedChange => change.action !== undefined);
  return { changes, needsAdministrator: changes.filter((change) => change.type !== CIPHERTEXT_TYPE) };
}

/** One word for Terraform's action list; undefined for no-op and read, which write nothing. */
function actionOf(actions: readonly string[]): string | undefined {
  if (actions.includes('create') && actions.includes('delete')) return 'replace';
  return actions.find((action) => action === 'create' || action === 'update' || action === 'delete');
}
