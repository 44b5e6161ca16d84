/**
 * ECS task definitions on the local endpoint, through the real SDK client: revisions by family, what
 * Terraform reads back, and the iam:PassRole check that keeps a principal who may register task definitions
 * from handing a task role it may not pass (a service's secrets) to a task of its own.
 */
import { DeregisterTaskDefinitionCommand, DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, TEST_CREDENTIALS } from '../../local/index.ts';
import { roleWithPolicy } from '../support/roles.ts';
import { REGION, startEndpoint, type TestEndpoint } from './support.ts';

const TASK_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/kms-secrets-demo.task-api`;
const container = { name: 'api', image: 'api:1.0', memory: 512, environment: [{ name: 'SECRETS_SERVICES', value: 'api' }] };

let aws: TestEndpoint;
const ecs = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = TEST_CREDENTIALS) =>
  new ECSClient({ endpoint: aws.endpoint.url, region: REGION, credentials, maxAttempts: 1 });
beforeAll(async () => {
  aws = await startEndpoint();
});
afterAll(() => aws.close());

describe('ECS task definitions', () => {
  it('registers revisions of a family and describes the latest, or one by revision, with its tags', async () => {
    const first = await ecs().send(new RegisterTaskDefinitionCommand({ family: 'api', taskRoleArn: TASK_ROLE, containerDefinitions: [container], tags: [{ key: 'team', value: 'a' }] }));
    const second = await ecs().send(new RegisterTaskDefinitionCommand({ family: 'api', taskRoleArn: TASK_ROLE, containerDefinitions: [{ ...container, image: 'api:1.1' }] }));
    expect(first.taskDefinition!.taskDefinitionArn).toBe(`arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/api:1`);
    expect(second.taskDefinition!.revision).toBe(2);

    const latest = await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api' }));
    expect(latest.taskDefinition!.containerDefinitions![0]!.image).toBe('api:1.1');
    const byRevision = await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api:1', include: ['TAGS'] }));
    expect(byRevision.taskDefinition!.taskRoleArn).toBe(TASK_ROLE);
    expect(byRevision.taskDefinition!.containerDefinitions).toEqual([container]);
    expect(byRevision.tags).toEqual([{ key: 'team', value: 'a' }]);
  });

  it('a deregistered revision is INACTIVE, and the family\'s latest active one is what a family name finds', async () => {
    await ecs().send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'api:2' }));
    expect((await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api:2' }))).taskDefinition!.status).toBe('INACTIVE');
    expect((await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api' }))).taskDefinition!.revision).toBe(1);
  });

  it('numbers and finds revisions per region, as ECS does', async () => {
    const eu = new ECSClient({ endpoint: aws.endpoint.url, region: 'eu-west-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    const registered = await eu.send(new RegisterTaskDefinitionCommand({ family: 'api', containerDefinitions: [container] }));
    expect(registered.taskDefinition!.taskDefinitionArn).toBe(`arn:aws:ecs:eu-west-1:${ACCOUNT_ID}:task-definition/api:1`);
    expect((await eu.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api' }))).taskDefinition!.revision).toBe(1);
    await expect(eu.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api:2' }))).rejects.toMatchObject({ name: 'ClientException' });
    // us-east-1's family is untouched: its latest active revision is still 1 of its own.
    expect((await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api' }))).taskDefinition!.taskDefinitionArn).toMatch(/:us-east-1:/);
  });

  it('refuses a container without an image, and an unknown task definition, with ECS\'s ClientException', async () => {
    await expect(ecs().send(new RegisterTaskDefinitionCommand({ family: 'api', containerDefinitions: [{ name: 'api' }] }))).rejects.toThrow(/must each have a name and an image/);
    await expect(ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nothing' }))).rejects.toMatchObject({ name: 'ClientException' });
  });

  it('registering with a task role needs iam:PassRole on that role: registering alone cannot hand out a service\'s secrets', async () => {
    const registerOnly = await roleWithPolicy(aws.endpoint.url, 'ecs-register-only', [{ Effect: 'Allow', Action: 'ecs:RegisterTaskDefinition', Resource: '*' }]);
    await expect(ecs(registerOnly).send(new RegisterTaskDefinitionCommand({ family: 'sneaky', taskRoleArn: TASK_ROLE, containerDefinitions: [container] })))
      .rejects.toThrow(/not authorized to perform: iam:PassRole on resource: arn:aws:iam::\d+:role\/kms-secrets-demo\.task-api/);
    // Without a task role there is nothing to pass.
    await expect(ecs(registerOnly).send(new RegisterTaskDefinitionCommand({ family: 'plain', containerDefinitions: [container] }))).resolves.toBeDefined();

    const mayPass = await roleWithPolicy(aws.endpoint.url, 'ecs-deployer', [
      { Effect: 'Allow', Action: 'ecs:RegisterTaskDefinition', Resource: '*' },
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: TASK_ROLE, Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } },
    ]);
    await expect(ecs(mayPass).send(new RegisterTaskDefinitionCommand({ family: 'api', taskRoleArn: TASK_ROLE, containerDefinitions: [container] }))).resolves.toBeDefined();
  });
});
