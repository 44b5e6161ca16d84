/**
 * examples/: Docker cannot run here, so the image and the task definitions are checked for what the
 * runtime needs: the entrypoint names the file the Dockerfile copies, and the environment selects
 * secrets as the runtime reads it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { selectionFrom } from '../../runtime/selection.ts';
import { REPO_ROOT } from '../support/project.ts';

interface ContainerDefinition {
  name: string;
  essential: boolean;
  user?: string;
  entryPoint: string[];
  command: string[];
  environment?: { name: string; value: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly: boolean }[];
  dependsOn?: { containerName: string; condition: string }[];
  linuxParameters?: { initProcessEnabled?: boolean };
}
interface TaskDefinition {
  taskRoleArn: string;
  containerDefinitions: ContainerDefinition[];
  volumes?: { name: string; dockerVolumeConfiguration?: { scope: string; driverOpts: Record<string, string> } }[];
}

const read = (name: string) => readFileSync(join(REPO_ROOT, 'examples', name), 'utf8');
const taskDefinition = (name: string) => JSON.parse(read(name)) as TaskDefinition;
const environmentOf = (container: ContainerDefinition) => Object.fromEntries((container.environment ?? []).map(({ name, value }) => [name, value]));
const container = (task: TaskDefinition, name: string) => task.containerDefinitions.find((c) => c.name === name)!;

const dockerfile = read('Dockerfile');
const bundlePath = /^COPY dist\/kms-secrets-runtime\.mjs (\S+)$/m.exec(dockerfile)?.[1];
const imageEntrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1] ?? 'null') as string[];

describe('examples/Dockerfile', () => {
  test('copies the runtime bundle and makes `exec --` its entrypoint, on node 24, where exec replaces itself with the app', () => {
    expect(dockerfile).toMatch(/^FROM node:24-slim$/m);
    expect(bundlePath).toBe('/opt/kms-secrets/kms-secrets-runtime.mjs');
    expect(imageEntrypoint).toEqual(['node', bundlePath, 'exec', '--']);
    expect(dockerfile).toMatch(/^CMD \["node", "server.js"\]$/m);
  });
});

describe('examples/ecs-task-definition.json', () => {
  const task = taskDefinition('ecs-task-definition.json');
  const app = container(task, 'api');

  test('runs the app through `exec` with the task role of its service', () => {
    expect(app.entryPoint).toEqual(imageEntrypoint);
    expect(app.command).toEqual(['node', 'server.js']);
    expect(task.taskRoleArn).toMatch(/:role\/kms-secrets-staging\.task-api$/);
    expect(app.linuxParameters?.initProcessEnabled).toBe(true);
  });

  test('selects the secrets through the variables the runtime reads', () => {
    expect(selectionFrom({}, environmentOf(app))).toEqual({ bucket: 'acme-staging-secrets', env: 'staging', services: ['api'], allowLoaderVariables: [] });
  });
});

describe('examples/ecs-task-definition-sidecar.json', () => {
  const task = taskDefinition('ecs-task-definition-sidecar.json');
  const sidecar = container(task, 'secrets');
  const app = container(task, 'api');

  test('a non-essential sidecar writes the files into a task-scoped tmpfs volume', () => {
    const [node, file, command, dirFlag, dir] = sidecar.entryPoint;
    expect([node, file, command, dirFlag]).toEqual(['node', bundlePath, 'write', '--dir']);
    expect(sidecar.essential).toBe(false);
    expect(sidecar.mountPoints).toEqual([{ sourceVolume: 'secrets', containerPath: dir, readOnly: false }]);
    expect(task.volumes).toEqual([expect.objectContaining({ name: 'secrets', dockerVolumeConfiguration: expect.objectContaining({ scope: 'task' }) })]);
    expect(task.volumes![0]!.dockerVolumeConfiguration!.driverOpts).toMatchObject({ type: 'tmpfs', device: 'tmpfs' });
    expect(selectionFrom({}, environmentOf(sidecar))).toEqual({ bucket: 'acme-staging-secrets', env: 'staging', services: ['api'], allowLoaderVariables: [] });
  });

  test('the app starts only after the sidecar succeeded, reads the volume read-only, as the same user', () => {
    expect(app.dependsOn).toEqual([{ containerName: 'secrets', condition: 'SUCCESS' }]);
    expect(app.mountPoints).toEqual([{ sourceVolume: 'secrets', containerPath: sidecar.mountPoints![0]!.containerPath, readOnly: true }]);
    expect(app.user).toBe(sidecar.user);
    expect(app.environment).toBeUndefined();
  });
});
