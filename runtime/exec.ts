/**
 * What `kms-secrets exec` does before the command starts: load the selection's secrets and resolve the
 * references in the environment, together under one deadline, then build the command's environment.
 * Anything that fails fails the whole start (fail closed).
 */
import type { AwsClients } from '../lib/aws.ts';
import { Deadline } from './deadline.ts';
import { childEnvironment, oversizedValues, secretValues } from './environ.ts';
import { SecretsLoadError } from './failures.ts';
import { loadBucketSecrets, type ListedObjects } from './load.ts';
import { resolveReferences } from './references.ts';
import type { Selection } from './selection.ts';

export interface PrepareOptions {
  readonly selection: Selection;
  readonly deadlineMs: number;
  /** Let secrets replace variables already set in the environment. */
  readonly override: boolean;
  /** Aborted (with its reason as the error) when the start must stop, e.g. on SIGTERM. */
  readonly stopped: AbortSignal;
}

export interface PreparedEnvironment {
  readonly env: NodeJS.ProcessEnv;
  /** What was set, by name and source, for --verbose; never a value. */
  readonly variables: readonly { readonly variable: string; readonly source: string }[];
  /** Object key → ETag of every secret loaded, for --restart-on-change. */
  readonly versions: ListedObjects;
}

export async function prepareEnvironment(options: PrepareOptions, clients: AwsClients, base: NodeJS.ProcessEnv): Promise<PreparedEnvironment> {
  const deadline = new Deadline(options.deadlineMs, options.stopped);
  try {
    const [bucket, references] = await Promise.all([
      loadBucketSecrets(options.selection, clients, deadline.signal),
      resolveReferences(base, clients, deadline.signal),
    ]);
    if (options.stopped.aborted) throw options.stopped.reason;
    const secrets = secretValues(bucket.loaded);
    const { env, failures: conflicts } = childEnvironment(base, references.loaded, secrets.values, options.override);
    const oversized = oversizedValues([...secrets.values, ...references.loaded]);
    const failures = [...bucket.failures, ...secrets.failures, ...references.failures, ...conflicts, ...oversized];
    if (failures.length > 0) throw new SecretsLoadError(failures, bucket.throttles, options.selection);
    return {
      env,
      variables: [...secrets.values, ...references.loaded].map(({ variable, source }) => ({ variable, source })),
      versions: new Map(bucket.loaded.map((secret) => [secret.source, secret.etag])),
    };
  } finally {
    deadline.clear();
  }
}
