/**
 * ECS task definitions (JSON 1.1, target prefix `AmazonEC2ContainerServiceV20141113`): RegisterTaskDefinition,
 * DescribeTaskDefinition, DeregisterTaskDefinition and DeleteTaskDefinitions, with families and revisions, and
 * the `iam:PassRole` check ECS makes on the task and execution roles. Enough for Terraform's
 * `aws_ecs_task_definition` and the examples that define one; nothing runs.
 */
import { ACCOUNT_ID, AwsError, epochSeconds, type Call, type JsonOperations } from './protocol.ts';
import { JsonStore } from './state.ts';

interface TaskDefinition {
  taskDefinitionArn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  registeredAt: number;
  /** Every other member as registered, echoed back as ECS does. */
  members: Record<string, unknown>;
  tags: { key: string; value: string }[];
}

/** What RegisterTaskDefinition keeps besides family and tags. */
const MEMBERS = [
  'containerDefinitions', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'requiresCompatibilities', 'cpu', 'memory',
  'volumes', 'placementConstraints', 'pidMode', 'ipcMode', 'proxyConfiguration', 'inferenceAccelerators', 'ephemeralStorage',
  'runtimePlatform', 'enableFaultInjection',
];
const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;

export class Ecs {
  private readonly store: JsonStore<{ taskDefinitions: TaskDefinition[] }>;

  constructor(dir: string) {
    this.store = new JsonStore(dir, 'ecs', () => ({ taskDefinitions: [] }));
  }

  readonly operations: JsonOperations = {
    RegisterTaskDefinition: (input, call) => {
      const family = input.string('family');
      if (!FAMILY.test(family)) throw new AwsError('ClientException', 'Family contains invalid characters; use letters, digits, "-" and "_" (at most 255).');
      const containers = input.optionalList<{ name?: string; image?: string }>('containerDefinitions') ?? [];
      if (containers.length === 0 || containers.some((c) => !c.name || !c.image)) {
        throw new AwsError('ClientException', 'Container definitions must each have a name and an image.');
      }
      const revision = Math.max(0, ...this.revisions(family, call.region).map((t) => t.revision)) + 1;
      const arn = `arn:aws:ecs:${call.region}:${ACCOUNT_ID}:task-definition/${family}:${revision}`;
      call.authorize('ecs:RegisterTaskDefinition', '*');
      // ECS hands these roles to tasks: whoever registers must be allowed to pass them to ECS.
      for (const member of ['taskRoleArn', 'executionRoleArn']) {
        const role = input.optionalString(member);
        if (role) call.authorize('iam:PassRole', role, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' });
      }
      const members = Object.fromEntries(MEMBERS.filter((name) => input.has(name)).map((name) => [name, input.optionalValue(name)]));
      const definition: TaskDefinition = {
        taskDefinitionArn: arn, family, revision, status: 'ACTIVE', registeredAt: Date.now(), members,
        tags: input.optionalList<{ key: string; value: string }>('tags') ?? [],
      };
      this.store.data.taskDefinitions.push(definition);
      this.store.save();
      return { taskDefinition: describe(definition), tags: definition.tags };
    },
    DescribeTaskDefinition: (input, call) => {
      call.authorize('ecs:DescribeTaskDefinition', '*');
      const definition = this.find(input.string('taskDefinition'), call);
      const include = input.optionalList<string>('include') ?? [];
      return { taskDefinition: describe(definition), ...(include.includes('TAGS') ? { tags: definition.tags } : {}) };
    },
    DeregisterTaskDefinition: (input, call) => {
      call.authorize('ecs:DeregisterTaskDefinition', '*');
      const definition = this.find(input.string('taskDefinition'), call);
      definition.status = 'INACTIVE';
      this.store.save();
      return { taskDefinition: describe(definition) };
    },
    DeleteTaskDefinitions: (input, call) => {
      call.authorize('ecs:DeleteTaskDefinitions', '*');
      const deleted = (input.optionalList<string>('taskDefinitions') ?? []).map((reference) => this.find(reference, call));
      for (const definition of deleted) definition.status = 'DELETE_IN_PROGRESS';
      this.store.data.taskDefinitions = this.store.data.taskDefinitions.filter((t) => !deleted.includes(t));
      this.store.save();
      return { taskDefinitions: deleted.map(describe), failures: [] };
    },
    ListTagsForResource: (input, call) => {
      call.authorize('ecs:ListTagsForResource', '*');
      return { tags: this.find(input.string('resourceArn'), call).tags };
    },
  };

  /** A family's revisions in one region: each region numbers its own. */
  private revisions(family: string, region: string): TaskDefinition[] {
    return this.store.data.taskDefinitions.filter((t) => t.family === family && t.taskDefinitionArn.startsWith(`arn:aws:ecs:${region}:`));
  }

  /** `family`, `family:revision` or an ARN, in the caller's region; a bare family means its latest active revision. */
  private find(reference: string, call: Call): TaskDefinition {
    const text = /^arn:aws:ecs:[^:]+:\d{12}:task-definition\/(.+)$/.exec(reference)?.[1] ?? reference;
    const [family, revision] = text.split(':') as [string, string | undefined];
    const found = this.revisions(family, call.region).filter((t) => (revision ? t.revision === Number(revision) : t.status === 'ACTIVE')).at(-1);
    if (!found) throw new AwsError('ClientException', 'Unable to describe task definition.');
    return found;
  }
}

function describe(definition: TaskDefinition): Record<string, unknown> {
  return {
    ...definition.members,
    taskDefinitionArn: definition.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    status: definition.status,
    compatibilities: ['EC2', ...(definition.members.networkMode === 'awsvpc' ? ['FARGATE'] : [])],
    registeredAt: epochSeconds(definition.registeredAt),
  };
}
