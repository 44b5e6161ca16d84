/**
 * Loading the secrets of a selection from the env's bucket: per service, one paginated listing of its
 * prefix, then its declared list beside the fetches of the objects, and the decryption of each declared
 * object, in parallel under one concurrency limit and one deadline. An object the list does not name is
 * never decrypted and fails the load: names are an administrator's to choose (lib/declared.ts), and the key
 * policy refuses to decrypt it anyway. The encryption context comes from the object key, so a ciphertext
 * copied to another place fails. Every failure is collected rather than stopping at the first, so one run
 * names all of them.
 */
import type { KMS } from '@aws-sdk/client-kms';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { awsClients } from '../lib/aws.ts';
import { decryptSecret } from '../lib/cipher.ts';
import { DeclaredListError, declaredListKey, parseDeclaredList } from '../lib/declared.ts';
import { EncryptionContextMismatchError, NotCiphertextError, UsageError } from '../lib/errors.ts';
import { loaderVariableProblem } from '../lib/loader-variables.ts';
import { envVarName, objectKey, secretNameProblem, type SecretRef } from '../lib/naming.ts';
import { concurrencyLimit, MAX_PARALLEL_CALLS } from './concurrency.ts';
import { Deadline, DEFAULT_DEADLINE_MS, withAbortSignal } from './deadline.ts';
import { MAX_TIMER_MS } from './duration.ts';
import { secretValues } from './environ.ts';
import { failureFromError, SecretsLoadError, type LoadFailure, type Throttles } from './failures.ts';
import { assertSelection, type Selection } from './selection.ts';

/** The clients a load needs; any object built by lib/aws.ts awsClients() has them. */
export interface SecretClients {
  readonly s3: S3Client;
  readonly kms: KMS;
}

export interface LoadedSecret {
  readonly ref: SecretRef;
  readonly variable: string;
  /** `<service>/<name>`, for messages. */
  readonly source: string;
  /** The plaintext; callers zero it once they have used it. */
  readonly value: Buffer;
  /** The object's ETag as fetched, to tell later whether it changed. */
  readonly etag: string;
}

export interface Loaded<T> {
  readonly loaded: T[];
  readonly failures: LoadFailure[];
}

/** Object key → ETag of every secret the listing found, fetched or not. */
export type ListedObjects = Map<string, string>;

export interface BucketLoad extends Loaded<LoadedSecret> {
  readonly listed: ListedObjects;
  /** Throttled answers the load's calls got (and retried), for the failure message. */
  readonly throttles: Throttles;
}

/** A service's declared secret names, or why it has no usable list. */
type DeclaredNames = { readonly names: ReadonlySet<string>; readonly keyArn?: string } | { readonly failure: LoadFailure };

/** What a check found different from what the task has: `<service>/<name>` keys changed or added, and removed. */
export interface SecretChanges {
  readonly changed: string[];
  readonly removed: string[];
}

export interface LoadChoice {
  /** Whether to fetch and decrypt the object the listing found; every object when unset. */
  readonly fetch?: (key: string, etag: string) => boolean;
}

/**
 * Lists every service prefix and fetches and decrypts what `choice.fetch` asks for (all by default): the
 * refreshing modes fetch only what the listing's ETags say changed, so an idle check makes no KMS call.
 */
export async function loadBucketSecrets(selection: Selection, clients: SecretClients, signal: AbortSignal, choice: LoadChoice = {}): Promise<BucketLoad> {
  const limit = concurrencyLimit(MAX_PARALLEL_CALLS);
  const throttles = { kms: 0, s3: 0 };
  const s3 = withAbortSignal(clients.s3, signal, (throttled) => { if (throttled) throttles.s3 += 1; });
  const kms = withAbortSignal(clients.kms, signal, (throttled) => { if (throttled) throttles.kms += 1; });
  const loaded: LoadedSecret[] = [];
  const failures: LoadFailure[] = [];
  const listed: ListedObjects = new Map();

  /** Fetches and decrypts one secret, once `declared` says its name is declared (else the service's check reports it). */
  const loadOne = async (ref: SecretRef, declared: Promise<DeclaredNames>): Promise<void> => {
    const source = objectKey(ref);
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: selection.bucket, Key: source }));
      const ciphertext = await object.Body!.transformToByteArray();
      const list = await declared;
      if (!('names' in list) || !list.names.has(ref.name)) return;
      const value = await decryptSecret(kms, ref, ciphertext, { keyArn: list.keyArn });
      loaded.push({ ref, variable: envVarName(ref.name), source, value, etag: object.ETag ?? '' });
    } catch (error) {
      failures.push(failureFromCipher(source, error) ?? failureFromError(source, error, signal));
    }
  };

  /** lib/cipher's own refusals, as opposed to the SDK's errors. */
  const failureFromCipher = (source: string, error: unknown): LoadFailure | undefined => {
    if (signal.aborted) return undefined;
    if (error instanceof NotCiphertextError) return { subject: source, kind: 'not-ciphertext', cause: error.message };
    if (error instanceof EncryptionContextMismatchError) return { subject: source, kind: 'context-mismatch', cause: error.message };
    return undefined;
  };

  /** The names the service's declared list holds, or why there is no usable list. */
  const readDeclared = async (service: string): Promise<DeclaredNames> => {
    const key = declaredListKey(service);
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: selection.bucket, Key: key }));
      const list = parseDeclaredList(await object.Body!.transformToString(), { env: selection.env, service }, `s3://${selection.bucket}/${key}`);
      return { names: new Set(list.secrets), keyArn: list.keyArn };
    } catch (error) {
      if (error instanceof DeclaredListError) return { failure: { subject: key, kind: 'not-declared', cause: error.message } };
      const failure = failureFromError(key, error, signal);
      return {
        failure: failure.kind === 'not-found'
          ? { ...failure, cause: `no declared list at s3://${selection.bucket}/${key}: an administrator applies the env's stack once with this version, which writes it` }
          : failure,
      };
    }
  };

  const loadService = async (service: string): Promise<void> => {
    const prefix = `${service}/`;
    // Read once the listing is complete, so every object it saw was there when the list was read: the stack
    // writes a service's list before its objects, and a new object is never taken for an undeclared one.
    let listingDone!: (declared: Promise<DeclaredNames>) => void;
    const declared = new Promise<DeclaredNames>((resolve) => (listingDone = resolve));
    const tasks: Promise<void>[] = [];
    const names = new Map<string, string>();
    try {
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: selection.bucket, Prefix: prefix })) {
        for (const { Key: key, ETag: etag = '' } of page.Contents ?? []) {
          // Keys ending in "/" are the empty "folders" consoles create, not secrets.
          if (!key || key.endsWith('/')) continue;
          const name = key.slice(prefix.length);
          names.set(key, name);
          const problem = secretNameProblem(name);
          // An object planted in the bucket directly meets the same rules as the tree: it is never fetched.
          const loaderProblem = problem ? undefined : loaderVariableProblem(envVarName(name), selection.allowLoaderVariables);
          if (problem) failures.push({ subject: key, kind: 'naming', cause: problem });
          else if (loaderProblem) failures.push({ subject: key, kind: 'loader-variable', cause: loaderProblem });
          else {
            listed.set(key, etag);
            if (choice.fetch?.(key, etag) ?? true) tasks.push(limit(() => loadOne({ env: selection.env, service, name }, declared)));
          }
        }
      }
      // A check that fetches nothing (a refresh while nothing changed) decrypts nothing: it reads no list and
      // checks again none of what an earlier check let through.
      listingDone(tasks.length > 0 ? readDeclared(service) : Promise.resolve({ names: new Set(names.values()) }));
      const list = await declared;
      if (names.size === 0) {
        failures.push({ subject: `${prefix}*`, kind: 'not-found', cause: `no secrets under s3://${selection.bucket}/${prefix}; is the service name right, and deployed?` });
      } else if ('failure' in list) {
        failures.push(list.failure);
      } else {
        for (const [key, name] of names) {
          if (list.names.has(name) || !listed.has(key)) continue;
          listed.delete(key);
          failures.push({ subject: key, kind: 'not-declared', cause: undeclaredProblem(service, name, list.names) });
        }
      }
    } catch (error) {
      failures.push(failureFromError(`${prefix}*`, error, signal));
      listingDone(Promise.resolve({ failure: { subject: `${prefix}*`, kind: 'other', cause: 'the listing failed' } }));
    }
    await Promise.all(tasks);
  };

  await Promise.all(selection.services.map(loadService));
  loaded.sort((a, b) => compare(a.source, b.source));
  return { loaded, failures, listed, throttles };
}

export interface LoadSecretsOptions extends Selection {
  /** @default awsClients(): the SDK's default credentials, region and AWS_ENDPOINT_URL */
  readonly clients?: SecretClients;
  /** Overall time limit of the load. @default 30_000 */
  readonly deadlineMs?: number;
}

/**
 * For apps that load their secrets themselves: variable name (`DB_PASSWORD`) → value, by the same rules
 * as `kms-secrets exec`. Throws SecretsLoadError listing every secret that could not be loaded.
 */
export async function loadSecrets(options: LoadSecretsOptions): Promise<Record<string, string>> {
  assertLoadOptions(options);
  const deadline = new Deadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  try {
    const { loaded, failures, throttles } = await loadBucketSecrets(options, options.clients ?? awsClients(), deadline.signal);
    const { values, failures: valueFailures } = secretValues(loaded);
    failures.push(...valueFailures);
    if (failures.length > 0) throw new SecretsLoadError(failures, throttles, options);
    return Object.fromEntries(values.map(({ variable, value }) => [variable, value]));
  } finally {
    deadline.clear();
  }
}

/**
 * The options as a JavaScript caller may pass them, checked before any AWS call: each problem is a UsageError
 * naming the option, what it must be and what it was (the value of a name or a number: nothing secret).
 */
function assertLoadOptions(options: LoadSecretsOptions): void {
  const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'a list' : String(value));
  for (const option of ['bucket', 'env'] as const) {
    if (typeof options[option] !== 'string') throw new UsageError(`loadSecrets: ${option} must be a string, not ${shown(options[option])}`);
  }
  const { services, allowLoaderVariables, deadlineMs } = options;
  if (!Array.isArray(services) || services.some((service) => typeof service !== 'string')) {
    throw new UsageError(`loadSecrets: services must be a list of service names, e.g. ['api'], not ${shown(services)}`);
  }
  if (allowLoaderVariables !== undefined && (!Array.isArray(allowLoaderVariables) || allowLoaderVariables.some((name) => typeof name !== 'string'))) {
    throw new UsageError(`loadSecrets: allowLoaderVariables must be a list of variable names, e.g. ['NODE_OPTIONS'], not ${shown(allowLoaderVariables)}`);
  }
  if (deadlineMs !== undefined && (typeof deadlineMs !== 'number' || !(deadlineMs >= 1 && deadlineMs <= MAX_TIMER_MS))) {
    throw new UsageError(`loadSecrets: deadlineMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS} (e.g. 30_000), not ${shown(deadlineMs)}`);
  }
  assertSelection(options);
}

function undeclaredProblem(service: string, name: string, declared: ReadonlySet<string>): string {
  return `service ${service} declares no secret ${name} (variable ${envVarName(name)}); a new name is an administrator's apply of the env's stack`
    + ` (declared: ${[...declared].sort().join(', ') || 'none'})`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
