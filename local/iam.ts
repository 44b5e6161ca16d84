/**
 * IAM (query protocol): roles, their inline policies, customer managed policies with versions, and
 * attachments — what Terraform's aws_iam_role, aws_iam_role_policy, aws_iam_policy and
 * aws_iam_role_policy_attachment call. Policy documents are validated, stored, and returned
 * URL-encoded as IAM does. The identity policies of a role are what the authorizer evaluates.
 */
import { randomBytes } from 'node:crypto';
import { validateIdentityPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { invalidPrincipal } from './authorize.ts';
import { ACCOUNT_ID, AwsError, paginate, type Call, type QueryInput, type QueryOperations } from './protocol.ts';
import { JsonStore } from './state.ts';
import type { XmlValue } from './xml.ts';

type Tag = { Key: string; Value: string };

interface RoleRecord {
  name: string;
  path: string;
  roleId: string;
  createDate: string;
  assumeRolePolicy: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tag[];
  inlinePolicies: Record<string, string>;
  attachedPolicyArns: string[];
}

interface PolicyVersion {
  versionId: string;
  document: string;
  createDate: string;
}

interface PolicyRecord {
  name: string;
  path: string;
  policyId: string;
  description?: string;
  createDate: string;
  updateDate: string;
  tags: Tag[];
  defaultVersionId: string;
  versions: PolicyVersion[];
  nextVersion: number;
}

interface IamState {
  roles: RoleRecord[];
  policies: PolicyRecord[];
}

/** What STS needs of a role: who it is, how long a session may last, and who may assume it. */
export interface AssumableRole {
  readonly name: string;
  readonly arn: string;
  readonly roleId: string;
  readonly maxSessionDuration: number;
  /** The role's trust policy, as stored. */
  readonly trustPolicy: string;
}

/** A policy document that applies to a principal, ready for the authorizer. */
export interface NamedPolicy {
  readonly name: string;
  readonly policy: unknown;
}

const MAX_POLICY_VERSIONS = 5;

function roleArn(role: Pick<RoleRecord, 'path' | 'name'>): string {
  return `arn:aws:iam::${ACCOUNT_ID}:role${role.path}${role.name}`;
}

function policyArn(policy: Pick<PolicyRecord, 'path' | 'name'>): string {
  return `arn:aws:iam::${ACCOUNT_ID}:policy${policy.path}${policy.name}`;
}

/** IAM-style unique ids: a type prefix and 17 upper-case letters and digits. */
function uniqueId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return prefix + [...randomBytes(17)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Whether two role or policy names are one name to IAM. Its API reference (CreateRole, CreatePolicy): "IAM user,
 * group, role, and policy names must be unique within the account. Names are not distinguished by case." So a
 * name is taken whatever its case, and a RoleName parameter (GetRole, AttachRolePolicy, DeleteRole…) finds the
 * role in any case, which answers with the name as created. The User Guide adds that in a policy or an ARN the
 * name is case sensitive: ARNs (AssumeRole's RoleArn, a PolicyArn, a principal) are matched exactly.
 */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function now(): string {
  return new Date().toISOString();
}

function requirePolicyDocument(document: string, validate: (policy: unknown) => unknown[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'This policy contains invalid Json');
  }
  const errors = validate(parsed);
  if (errors.length > 0) throw new AwsError('MalformedPolicyDocument', `Syntax errors in policy: ${JSON.stringify(errors)}`);
  return document;
}

/** A trust policy as IAM stores it: a wildcard inside a principal is MalformedPolicyDocument, as IAM answers it. */
function requireTrustPolicy(document: string): string {
  requirePolicyDocument(document, validateTrustPolicy);
  const invalid = invalidPrincipal(JSON.parse(document));
  if (invalid) throw new AwsError('MalformedPolicyDocument', `Invalid principal in policy: ${invalid.type ? `"${invalid.type}":` : ''}"${invalid.value}"`);
  return document;
}

function requirePath(path: string | undefined): string {
  const value = path ?? '/';
  if (!/^\/(?:[\x21-\x7e]*\/)?$/.test(value)) throw new AwsError('ValidationError', `The specified value for path is invalid: ${value}. It must begin and end with / and contain only printable ASCII characters`);
  return value;
}

function listPage<T>(input: QueryInput, items: T[]): { page: T[]; IsTruncated: boolean; Marker?: string } {
  const { page, nextMarker } = paginate(items, input.optionalNumber('MaxItems') ?? 100, input.optionalString('Marker'));
  return { page, IsTruncated: Boolean(nextMarker), Marker: nextMarker };
}

export class Iam {
  private readonly store: JsonStore<IamState>;

  constructor(dir: string) {
    this.store = new JsonStore<IamState>(dir, 'iam', () => ({ roles: [], policies: [] }));
  }

  /** The role with this name, for STS; undefined when there is none. */
  findRole(name: string): AssumableRole | undefined {
    const role = this.store.data.roles.find((r) => r.name === name);
    return role && { name: role.name, arn: roleArn(role), roleId: role.roleId, maxSessionDuration: role.maxSessionDuration, trustPolicy: role.assumeRolePolicy };
  }

  /** The inline and attached managed policies (default versions) of a role; none once it is deleted. */
  identityPolicies(roleName: string): NamedPolicy[] {
    const role = this.store.data.roles.find((r) => r.name === roleName);
    if (!role) return [];
    const inline = Object.entries(role.inlinePolicies).map(([name, document]) => ({ name: `inline:${name}`, policy: JSON.parse(document) as unknown }));
    const attached = role.attachedPolicyArns.flatMap((arn) => {
      const policy = this.store.data.policies.find((p) => policyArn(p) === arn);
      const version = policy?.versions.find((v) => v.versionId === policy.defaultVersionId);
      return version ? [{ name: arn, policy: JSON.parse(version.document) as unknown }] : [];
    });
    return [...inline, ...attached];
  }

  readonly operations: QueryOperations = {
    CreateRole: (input, call) => {
      const name = input.string('RoleName');
      const path = requirePath(input.optionalString('Path'));
      call.authorize('iam:CreateRole', roleArn({ path, name }));
      if (this.store.data.roles.some((r) => sameName(r.name, name))) {
        throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
      }
      const role: RoleRecord = {
        name,
        path,
        roleId: uniqueId('AROA'),
        createDate: now(),
        assumeRolePolicy: requireTrustPolicy(input.string('AssumeRolePolicyDocument')),
        description: input.optionalString('Description'),
        maxSessionDuration: input.optionalNumber('MaxSessionDuration') ?? 3600,
        tags: input.memberList('Tags') as Tag[],
        inlinePolicies: {},
        attachedPolicyArns: [],
      };
      this.store.data.roles.push(role);
      this.store.save();
      return { Role: roleXml(role) };
    },
    GetRole: (input, call) => ({ Role: roleXml(this.role(input, call, 'iam:GetRole')) }),
    ListRoles: (input, call) => {
      call.authorize('iam:ListRoles', '*');
      const prefix = input.optionalString('PathPrefix') ?? '/';
      const { page, ...rest } = listPage(input, this.store.data.roles.filter((r) => r.path.startsWith(prefix)));
      return { Roles: { member: page.map(roleXml) }, ...rest };
    },
    UpdateRole: (input, call) => {
      const role = this.role(input, call, 'iam:UpdateRole');
      role.description = input.optionalString('Description') ?? role.description;
      role.maxSessionDuration = input.optionalNumber('MaxSessionDuration') ?? role.maxSessionDuration;
      this.store.save();
      return {};
    },
    UpdateRoleDescription: (input, call) => {
      const role = this.role(input, call, 'iam:UpdateRoleDescription');
      role.description = input.string('Description');
      this.store.save();
      return { Role: roleXml(role) };
    },
    UpdateAssumeRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:UpdateAssumeRolePolicy');
      role.assumeRolePolicy = requireTrustPolicy(input.string('PolicyDocument'));
      this.store.save();
      return {};
    },
    DeleteRole: (input, call) => {
      const role = this.role(input, call, 'iam:DeleteRole');
      if (role.attachedPolicyArns.length > 0) throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
      if (Object.keys(role.inlinePolicies).length > 0) throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
      this.store.data.roles = this.store.data.roles.filter((r) => r !== role);
      this.store.save();
      return {};
    },
    TagRole: (input, call) => {
      const role = this.role(input, call, 'iam:TagRole');
      role.tags = mergeTags(role.tags, input.memberList('Tags') as Tag[]);
      this.store.save();
      return {};
    },
    UntagRole: (input, call) => {
      const role = this.role(input, call, 'iam:UntagRole');
      const removed = new Set(input.stringList('TagKeys'));
      role.tags = role.tags.filter((tag) => !removed.has(tag.Key));
      this.store.save();
      return {};
    },
    ListRoleTags: (input, call) => {
      const role = this.role(input, call, 'iam:ListRoleTags');
      return { Tags: { member: role.tags }, IsTruncated: false };
    },
    PutRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:PutRolePolicy');
      role.inlinePolicies[input.string('PolicyName')] = requirePolicyDocument(input.string('PolicyDocument'), validateIdentityPolicy);
      this.store.save();
      return {};
    },
    GetRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:GetRolePolicy');
      const name = input.string('PolicyName');
      const document = role.inlinePolicies[name];
      if (document === undefined) throw new AwsError('NoSuchEntity', `The role policy with name ${name} cannot be found.`, 404);
      return { RoleName: role.name, PolicyName: name, PolicyDocument: encodeURIComponent(document) };
    },
    DeleteRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:DeleteRolePolicy');
      const name = input.string('PolicyName');
      if (role.inlinePolicies[name] === undefined) throw new AwsError('NoSuchEntity', `The role policy with name ${name} cannot be found.`, 404);
      delete role.inlinePolicies[name];
      this.store.save();
      return {};
    },
    ListRolePolicies: (input, call) => {
      const role = this.role(input, call, 'iam:ListRolePolicies');
      const { page, ...rest } = listPage(input, Object.keys(role.inlinePolicies).sort());
      return { PolicyNames: { member: page }, ...rest };
    },
    CreatePolicy: (input, call) => {
      const name = input.string('PolicyName');
      const path = requirePath(input.optionalString('Path'));
      call.authorize('iam:CreatePolicy', policyArn({ path, name }));
      if (this.store.data.policies.some((p) => sameName(p.name, name))) {
        throw new AwsError('EntityAlreadyExists', `A policy called ${name} already exists. Duplicate names are not allowed.`, 409);
      }
      const created = now();
      const policy: PolicyRecord = {
        name,
        path,
        policyId: uniqueId('ANPA'),
        description: input.optionalString('Description'),
        createDate: created,
        updateDate: created,
        tags: input.memberList('Tags') as Tag[],
        defaultVersionId: 'v1',
        versions: [{ versionId: 'v1', document: requirePolicyDocument(input.string('PolicyDocument'), validateIdentityPolicy), createDate: created }],
        nextVersion: 2,
      };
      this.store.data.policies.push(policy);
      this.store.save();
      return { Policy: this.policyXml(policy) };
    },
    GetPolicy: (input, call) => ({ Policy: this.policyXml(this.policy(input, call, 'iam:GetPolicy')) }),
    ListPolicyTags: (input, call) => ({ Tags: { member: this.policy(input, call, 'iam:ListPolicyTags').tags }, IsTruncated: false }),
    TagPolicy: (input, call) => {
      const policy = this.policy(input, call, 'iam:TagPolicy');
      policy.tags = mergeTags(policy.tags, input.memberList('Tags') as Tag[]);
      this.store.save();
      return {};
    },
    UntagPolicy: (input, call) => {
      const policy = this.policy(input, call, 'iam:UntagPolicy');
      const removed = new Set(input.stringList('TagKeys'));
      policy.tags = policy.tags.filter((tag) => !removed.has(tag.Key));
      this.store.save();
      return {};
    },
    GetPolicyVersion: (input, call) => {
      const policy = this.policy(input, call, 'iam:GetPolicyVersion');
      return { PolicyVersion: versionXml(policy, requireVersion(policy, input.string('VersionId')), true) };
    },
    ListPolicyVersions: (input, call) => {
      const policy = this.policy(input, call, 'iam:ListPolicyVersions');
      const newestFirst = [...policy.versions].reverse();
      return { Versions: { member: newestFirst.map((v) => versionXml(policy, v, false)) }, IsTruncated: false };
    },
    CreatePolicyVersion: (input, call) => {
      const policy = this.policy(input, call, 'iam:CreatePolicyVersion');
      if (policy.versions.length >= MAX_POLICY_VERSIONS) {
        throw new AwsError('LimitExceeded', `A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`, 409);
      }
      const version = { versionId: `v${policy.nextVersion++}`, document: requirePolicyDocument(input.string('PolicyDocument'), validateIdentityPolicy), createDate: now() };
      policy.versions.push(version);
      if (input.optionalString('SetAsDefault') === 'true') policy.defaultVersionId = version.versionId;
      policy.updateDate = version.createDate;
      this.store.save();
      return { PolicyVersion: versionXml(policy, version, false) };
    },
    SetDefaultPolicyVersion: (input, call) => {
      const policy = this.policy(input, call, 'iam:SetDefaultPolicyVersion');
      policy.defaultVersionId = requireVersion(policy, input.string('VersionId')).versionId;
      this.store.save();
      return {};
    },
    DeletePolicyVersion: (input, call) => {
      const policy = this.policy(input, call, 'iam:DeletePolicyVersion');
      const version = requireVersion(policy, input.string('VersionId'));
      if (version.versionId === policy.defaultVersionId) throw new AwsError('DeleteConflict', 'Cannot delete the default version of a policy.', 409);
      policy.versions = policy.versions.filter((v) => v !== version);
      this.store.save();
      return {};
    },
    DeletePolicy: (input, call) => {
      const policy = this.policy(input, call, 'iam:DeletePolicy');
      if (this.attachedRoles(policy).length > 0) throw new AwsError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
      if (policy.versions.length > 1) {
        throw new AwsError('DeleteConflict', "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.", 409);
      }
      this.store.data.policies = this.store.data.policies.filter((p) => p !== policy);
      this.store.save();
      return {};
    },
    AttachRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:AttachRolePolicy');
      const arn = input.string('PolicyArn');
      if (!this.store.data.policies.some((p) => policyArn(p) === arn)) {
        throw new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404);
      }
      if (!role.attachedPolicyArns.includes(arn)) role.attachedPolicyArns.push(arn);
      this.store.save();
      return {};
    },
    DetachRolePolicy: (input, call) => {
      const role = this.role(input, call, 'iam:DetachRolePolicy');
      const arn = input.string('PolicyArn');
      if (!role.attachedPolicyArns.includes(arn)) throw new AwsError('NoSuchEntity', `Policy ${arn} was not found.`, 404);
      role.attachedPolicyArns = role.attachedPolicyArns.filter((a) => a !== arn);
      this.store.save();
      return {};
    },
    ListAttachedRolePolicies: (input, call) => {
      const role = this.role(input, call, 'iam:ListAttachedRolePolicies');
      const attached = role.attachedPolicyArns.map((arn) => ({ PolicyName: arn.slice(arn.lastIndexOf('/') + 1), PolicyArn: arn }));
      const { page, ...rest } = listPage(input, attached);
      return { AttachedPolicies: { member: page }, ...rest };
    },
    ListEntitiesForPolicy: (input, call) => {
      const policy = this.policy(input, call, 'iam:ListEntitiesForPolicy');
      return {
        PolicyRoles: { member: this.attachedRoles(policy).map((role) => ({ RoleName: role.name, RoleId: role.roleId })) },
        PolicyGroups: '',
        PolicyUsers: '',
        IsTruncated: false,
      };
    },
    ListInstanceProfilesForRole: (input, call) => {
      this.role(input, call, 'iam:ListInstanceProfilesForRole');
      return { InstanceProfiles: '', IsTruncated: false };
    },
  };

  private role(input: QueryInput, call: Call, action: string): RoleRecord {
    const name = input.string('RoleName');
    const role = this.store.data.roles.find((r) => sameName(r.name, name));
    call.authorize(action, role ? roleArn(role) : roleArn({ path: '/', name }));
    if (!role) throw new AwsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
    return role;
  }

  private policy(input: QueryInput, call: Call, action: string): PolicyRecord {
    const arn = input.string('PolicyArn');
    call.authorize(action, arn);
    return this.store.data.policies.find((p) => policyArn(p) === arn) ?? fail(new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404));
  }

  private attachedRoles(policy: PolicyRecord): RoleRecord[] {
    const arn = policyArn(policy);
    return this.store.data.roles.filter((role) => role.attachedPolicyArns.includes(arn));
  }

  private policyXml(policy: PolicyRecord): Record<string, XmlValue> {
    return {
      PolicyName: policy.name,
      PolicyId: policy.policyId,
      Arn: policyArn(policy),
      Path: policy.path,
      DefaultVersionId: policy.defaultVersionId,
      AttachmentCount: this.attachedRoles(policy).length,
      PermissionsBoundaryUsageCount: 0,
      IsAttachable: true,
      Description: policy.description,
      CreateDate: policy.createDate,
      UpdateDate: policy.updateDate,
      Tags: policy.tags.length > 0 ? { member: policy.tags } : undefined,
    };
  }
}

function roleXml(role: RoleRecord): Record<string, XmlValue> {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: roleArn(role),
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicy),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: role.tags.length > 0 ? { member: role.tags } : undefined,
    RoleLastUsed: '',
  };
}

function versionXml(policy: PolicyRecord, version: PolicyVersion, withDocument: boolean): Record<string, XmlValue> {
  return {
    Document: withDocument ? encodeURIComponent(version.document) : undefined,
    VersionId: version.versionId,
    IsDefaultVersion: version.versionId === policy.defaultVersionId,
    CreateDate: version.createDate,
  };
}

function requireVersion(policy: PolicyRecord, versionId: string): PolicyVersion {
  return policy.versions.find((v) => v.versionId === versionId)
    ?? fail(new AwsError('NoSuchEntity', `Policy ${policyArn(policy)} version ${versionId} does not exist or is not attachable.`, 404));
}

function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const keys = new Set(added.map((tag) => tag.Key));
  return [...existing.filter((tag) => !keys.has(tag.Key)), ...added];
}

function fail(error: AwsError): never {
  throw error;
}
