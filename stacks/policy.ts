/** IAM policy documents as plain data, so tests can read and simulate exactly what is deployed. */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Record<string, string | string[]>;
  readonly Action: string | string[];
  /** Absent in trust policies, where the role itself is the resource. */
  readonly Resource?: string | string[];
  /** Every resource but these (only in a Deny: an allow-list stated as what it refuses). */
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

export function policyDocument(statements: PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements };
}
