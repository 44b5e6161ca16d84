/**
 * `npm run local -- [--dir .local-aws] [--port 4580] [--host 127.0.0.1] [--allow-non-loopback]
 * [--kms-quota N] [--s3-get-quota N]`: starts the local AWS endpoint and prints what to export to use it.
 * Fault rules can be given as JSON in LOCAL_AWS_FAULTS, quotas also as LOCAL_AWS_KMS_QUOTA and
 * LOCAL_AWS_S3_GET_QUOTA. Stops cleanly on SIGINT/SIGTERM.
 *
 * `npm run local -- --tour [--dir D] [--keep]` also makes and deploys a project to try every command by hand
 * (scripts/tour.ts), and `npm run local -- --as <principal>` prints the shell lines that act as one of its
 * principals on the running endpoint (scripts/act-as.ts).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { faultsFromEnv } from './faults.ts';
import { DEFAULT_REGION } from './protocol.ts';
import { NonLoopbackHostError, start } from './server.ts';
import { TEST_CREDENTIALS } from './terraform-provider.ts';

const DEFAULT_PORT = 4580;
const DEFAULT_DIR = '.local-aws';

/** Says what was wrong in one line, with what to do, and exits (2: a usage mistake): no stack trace. */
function refuse(message: string, code = 2): never {
  process.stderr.write(`local AWS endpoint: ${message}\n`);
  process.exit(code);
}

const OPTIONS = {
  dir: { type: 'string' },
  port: { type: 'string', default: process.env.LOCAL_AWS_PORT ?? String(DEFAULT_PORT) },
  host: { type: 'string', default: '127.0.0.1' },
  'allow-non-loopback': { type: 'boolean', default: false },
  'kms-quota': { type: 'string' },
  's3-get-quota': { type: 'string' },
  tour: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  as: { type: 'string' },
} as const;
let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS }));
} catch (error) {
  refuse(`${(error as Error).message}; the options are --dir, --port, --host, --allow-non-loopback, --kms-quota, --s3-get-quota, --tour, --keep and --as`);
}
if (values.keep && !values.tour) refuse('--keep goes with --tour: it keeps the tour\'s project when you stop it');

if (values.as !== undefined) {
  if (values.tour) refuse('--as and --tour go in two shells: --tour serves, --as (in the tour\'s folder) prints what acts as a principal');
  const { actAs } = await import('../scripts/act-as.ts');
  const { KmsSecretsError } = await import('../lib/errors.ts');
  try {
    process.stderr.write(`${await actAs(values.as, resolve(values.dir ?? DEFAULT_DIR))}\n`);
  } catch (error) {
    if (!(error instanceof KmsSecretsError)) throw error;
    refuse(`${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}`, 1);
  }
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) refuse(`--port must be a port number (0 for any free port), not ${values.port}`);

/** A quota from its option, else from its variable (requests per second); a refusal names the one it came from. */
function quota(option: 'kms-quota' | 's3-get-quota', variable: string): number | undefined {
  const [source, text] = values[option] !== undefined ? [`--${option}`, values[option]] : [variable, process.env[variable]];
  if (text === undefined || text === '') return undefined;
  const perSecond = Number(text);
  if (!(Number.isFinite(perSecond) && perSecond > 0)) refuse(`${source} must be a positive number of requests per second, e.g. 1000, not ${JSON.stringify(text)}`);
  return perSecond;
}
const quotas = { kmsPerSecond: quota('kms-quota', 'LOCAL_AWS_KMS_QUOTA'), s3GetPerSecondPerPrefix: quota('s3-get-quota', 'LOCAL_AWS_S3_GET_QUOTA') };

/** A failure to listen, said as what to do about it on this command line. */
function refuseStart(error: NodeJS.ErrnoException): never {
  if (error instanceof NonLoopbackHostError) {
    refuse(`refusing to listen on ${error.host}: the endpoint accepts any credentials, so whoever reaches it acts as any principal. `
      + 'Use --host 127.0.0.1 (or ::1, localhost), or pass --allow-non-loopback to listen there all the same');
  }
  if (error.code === 'EADDRINUSE') refuse(`port ${port} on ${values.host} is in use (another npm run local?): stop that, or pass --port 0 for any free port`);
  if (error.code === 'EADDRNOTAVAIL') refuse(`${values.host} is not an address of this machine: use --host 127.0.0.1`);
  refuse(error.message, 1);
}
const listen = { port, host: values.host, allowNonLoopback: values['allow-non-loopback'], quotas };

if (values.tour) {
  const { runTour } = await import('../scripts/tour.ts');
  const { LocalProjectError } = await import('../scripts/local-project.ts');
  await runTour({ dir: values.dir === undefined ? undefined : resolve(values.dir), keep: values.keep, endpoint: listen }).catch((error: NodeJS.ErrnoException) => {
    if (error instanceof LocalProjectError) refuse(`tour failed: ${error.message}`, 1);
    refuseStart(error);
  });
} else {
  await serve(resolve(values.dir ?? DEFAULT_DIR));
}

async function serve(dir: string): Promise<void> {
  const endpoint = await start({ ...listen, dir }).catch(refuseStart);
  for (const rule of faultsFromEnv(process.env)) endpoint.faults.add(rule);

  process.stdout.write([
    `Local AWS endpoint (KMS, S3, IAM, STS, SSM, Secrets Manager, ECS) on ${endpoint.url}, state in ${dir}`,
    ...(quotas.kmsPerSecond || quotas.s3GetPerSecondPerPrefix ? [`Quotas: ${[quotas.kmsPerSecond && `KMS ${quotas.kmsPerSecond}/s`, quotas.s3GetPerSecondPerPrefix && `S3 GET ${quotas.s3GetPerSecondPerPrefix}/s per prefix`].filter(Boolean).join(', ')}`] : []),
    'Use it from this shell with:',
    `  export AWS_ENDPOINT_URL=${endpoint.url}`,
    `  export AWS_REGION=${DEFAULT_REGION} AWS_DEFAULT_REGION=${DEFAULT_REGION}`,
    `  export AWS_ACCESS_KEY_ID=${TEST_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${TEST_CREDENTIALS.secretAccessKey}`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void endpoint.stop().then(() => {
        process.stdout.write('Local AWS endpoint stopped.\n');
        process.exit(0);
      });
    });
  }
}
