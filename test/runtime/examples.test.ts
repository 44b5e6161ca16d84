/**
 * examples/: Docker cannot run here, so the images and the task definitions are checked for what the
 * runtime needs — the entrypoint names the file the Dockerfile copies, and the environment selects
 * secrets as the runtime reads it — and each image's entrypoint and command are run as the image would
 * run them, with the runtime it copies in, against the local endpoint.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildRuntimeBundle } from '../../runtime/build.ts';
import { buildRuntimeExecutable, DEFAULT_TARGETS, hostTarget } from '../../runtime/build-executable.ts';
import { selectionFrom } from '../../runtime/selection.ts';
import { RUNTIME_NODE } from '../support/cli.ts';
import { REPO_ROOT } from '../support/project.ts';
import { expectNoValueIn, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

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

const executableDockerfile = read('Dockerfile.executable');
/** Docker's processor names → the executable each stage copies. */
const executableStages = Object.fromEntries([...executableDockerfile.matchAll(/^FROM scratch AS runtime-(\w+)\nCOPY dist\/kms-secrets-runtime-(\S+) \/kms-secrets-runtime$/gm)]
  .map(([, arch, target]) => [arch, target]));
const executablePathInImage = /^COPY --from=runtime --chmod=0755 \/kms-secrets-runtime (\S+)$/m.exec(executableDockerfile)?.[1];
const executableEntrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(executableDockerfile)?.[1] ?? 'null') as string[];
const executableCommand = JSON.parse(/^CMD (.+)$/m.exec(executableDockerfile)?.[1] ?? 'null') as string[];

describe('examples/Dockerfile.executable', () => {
  test('copies the executable of the image\'s processor, for each one npm run build:executable builds', () => {
    expect(executableStages).toEqual({ amd64: 'linux-x64', arm64: 'linux-arm64' });
    expect(DEFAULT_TARGETS).toEqual(Object.values(executableStages));
    expect(executableDockerfile).toMatch(/^FROM runtime-\$\{TARGETARCH\} AS runtime$/m);
  });

  test('an image without Node, whose entrypoint is the executable\'s `exec --`', () => {
    const base = [...executableDockerfile.matchAll(/^FROM (\S+)/gm)].at(-1)![1];
    expect(base).toBe('python:3.13-slim');
    expect(executableDockerfile).not.toMatch(/^RUN .*\bnode\b/m);
    expect(executableEntrypoint).toEqual([executablePathInImage, 'exec', '--']);
    expect(executableCommand).toEqual(['python', 'server.py']);
    expect(executableDockerfile).toMatch(/^COPY examples\/app\/server.py \/app\/server.py$/m);
  });
});

describe('each image runs its app with the secret, as its entrypoint and command say', () => {
  let store: Store;
  let scratch: string;
  const dbPassword = secretValue('api-db');
  beforeAll(async () => {
    store = await openStore();
    await putSecrets(store, { 'api/db-password': dbPassword });
    scratch = join(store.scratch, 'images');
    mkdirSync(scratch);
  }, 120_000);
  afterAll(() => store.close());

  /** Runs entrypoint + command in examples/app, as the image's WORKDIR holds it; stops it with SIGTERM once it answers. */
  async function runImage(entrypoint: string[], command: string[]): Promise<{ code: number | null; stdout: string; answer: string }> {
    const port = await freePort();
    const [program, ...args] = [...entrypoint, ...command];
    const app = spawn(program!, args, { cwd: join(REPO_ROOT, 'examples', 'app'), env: runtimeEnv(store, { SECRETS_SERVICES: 'api', PORT: String(port) }) });
    let stdout = '';
    let stderr = '';
    app.stdout.on('data', (chunk) => (stdout += chunk));
    app.stderr.on('data', (chunk) => (stderr += chunk));
    const closed = new Promise<number | null>((resolve) => app.on('close', resolve));
    let answer = '';
    for (const until = Date.now() + 30_000; !answer && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
    }
    app.kill('SIGTERM');
    const code = await closed;
    expectNoValueIn(store, { stdout, stderr });
    return { code, stdout, answer };
  }

  test('examples/Dockerfile: node, the bundle, server.js', async () => {
    const bundle = join(scratch, 'kms-secrets-runtime.mjs');
    await buildRuntimeBundle(bundle);
    const run = await runImage([RUNTIME_NODE, bundle, ...imageEntrypoint.slice(2)], ['node', 'server.js']);

    expect(run).toEqual({ code: 0, stdout: 'DB_PASSWORD is set\n', answer: 'ok\n' });
  });

  test('examples/Dockerfile.executable: the executable, server.py', async () => {
    const executable = buildRuntimeExecutable(hostTarget()!, join(scratch, 'kms-secrets-runtime'));
    const run = await runImage([executable, ...executableEntrypoint.slice(1)], executableCommand);

    expect(run).toEqual({ code: 0, stdout: 'DB_PASSWORD is set\n', answer: 'ok\n' });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

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
