/**
 * Values of the form `ssm://<name>[:<version>]` and `secretsmanager://<id>` already in the environment
 * (set by an image or a task definition), replaced by what they point to: SSM parameters with
 * decryption, up to 10 names per GetParameters call; Secrets Manager secrets by their SecretString.
 * A binary Secrets Manager secret is refused rather than base64-encoded: the app would otherwise
 * receive something other than what was stored, with nothing telling it so.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { concurrencyLimit, MAX_PARALLEL_CALLS } from './concurrency.ts';
import { withAbortSignal } from './deadline.ts';
import { environmentValueProblem, type VariableValue } from './environ.ts';
import { failureFromError, type LoadFailure } from './failures.ts';
import type { Loaded } from './load.ts';

/** lib/aws.ts awsClients() has these: each imports its SDK module on first use. */
export interface ReferenceClients {
  ssm(): Promise<SSMClient>;
  secretsManager(): Promise<SecretsManagerClient>;
}

const SSM_SCHEME = 'ssm://';
const SECRETS_MANAGER_SCHEME = 'secretsmanager://';
/** GetParameters takes at most 10 names. */
const SSM_NAMES_PER_CALL = 10;

type Reference =
  | { readonly scheme: 'ssm'; readonly variable: string; readonly text: string; readonly selector: string }
  | { readonly scheme: 'secretsmanager'; readonly variable: string; readonly text: string; readonly id: string };

/** What a lookup of one parameter or secret produced: its value, or a failure without a subject yet. */
type Outcome = { readonly value: string } | Omit<LoadFailure, 'subject'>;

export async function resolveReferences(environ: NodeJS.ProcessEnv, clients: ReferenceClients, signal: AbortSignal): Promise<Loaded<VariableValue>> {
  const { references, failures } = findReferences(environ);
  const ssmSelectors = unique(references.flatMap((r) => (r.scheme === 'ssm' ? [r.selector] : [])));
  const secretIds = unique(references.flatMap((r) => (r.scheme === 'secretsmanager' ? [r.id] : [])));
  // A client (and its SDK module) is loaded only when a reference needs it.
  const [parameters, secrets] = await Promise.all([
    ssmSelectors.length > 0 ? readParameters(ssmSelectors, clients, signal) : new Map<string, Outcome>(),
    secretIds.length > 0 ? readSecrets(secretIds, clients, signal) : new Map<string, Outcome>(),
  ]);

  const loaded: VariableValue[] = [];
  for (const reference of references) {
    const subject = `${reference.variable}=${reference.text}`;
    const outcome = reference.scheme === 'ssm' ? parameters.get(reference.selector)! : secrets.get(reference.id)!;
    if (!('value' in outcome)) {
      failures.push({ subject, ...outcome });
      continue;
    }
    const problem = environmentValueProblem(outcome.value);
    if (problem) failures.push({ subject, kind: 'not-text', cause: problem });
    else loaded.push({ variable: reference.variable, source: reference.text, value: outcome.value });
  }
  return { loaded, failures };
}

function findReferences(environ: NodeJS.ProcessEnv): { references: Reference[]; failures: LoadFailure[] } {
  const references: Reference[] = [];
  const failures: LoadFailure[] = [];
  for (const [variable, text] of Object.entries(environ).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (text?.startsWith(SSM_SCHEME)) {
      // Parameter names cannot contain ":", so a colon always starts the version.
      const match = /^ssm:\/\/([^:]+)(?::(\d+))?$/.exec(text);
      if (match) references.push({ scheme: 'ssm', variable, text, selector: match[2] ? `${match[1]}:${match[2]}` : match[1]! });
      else failures.push({ subject: `${variable}=${text}`, kind: 'invalid-input', cause: 'expected ssm://<parameter name>[:<version number>], e.g. ssm:///myapp/db-url:3' });
    } else if (text?.startsWith(SECRETS_MANAGER_SCHEME)) {
      const id = text.slice(SECRETS_MANAGER_SCHEME.length);
      if (id) references.push({ scheme: 'secretsmanager', variable, text, id });
      else failures.push({ subject: `${variable}=${text}`, kind: 'invalid-input', cause: 'expected secretsmanager://<secret name or ARN>' });
    }
  }
  return { references, failures };
}

/** Selector (`name` or `name:version`) → outcome, in batches of 10 names per call. */
async function readParameters(selectors: string[], clients: ReferenceClients, signal: AbortSignal): Promise<Map<string, Outcome>> {
  const [{ GetParametersCommand }, client] = await Promise.all([import('@aws-sdk/client-ssm'), clients.ssm()]);
  const ssm = withAbortSignal(client, signal);
  const outcomes = new Map<string, Outcome>();
  const limit = concurrencyLimit(MAX_PARALLEL_CALLS);
  const batches = Array.from({ length: Math.ceil(selectors.length / SSM_NAMES_PER_CALL) }, (_, i) =>
    selectors.slice(i * SSM_NAMES_PER_CALL, (i + 1) * SSM_NAMES_PER_CALL));
  await Promise.all(batches.map((names) => limit(async () => {
    try {
      const result = await ssm.send(new GetParametersCommand({ Names: names, WithDecryption: true }));
      for (const [selector, value] of matchParameters(names, result.Parameters ?? [])) outcomes.set(selector, { value });
      for (const invalid of result.InvalidParameters ?? []) {
        outcomes.set(invalid, { kind: 'not-found', cause: `SSM parameter ${invalid} does not exist (or not in that version)` });
      }
    } catch (error) {
      const { kind, cause } = failureFromError('', error, signal);
      for (const name of names) outcomes.set(name, { kind, cause });
    }
  })));
  for (const selector of selectors) {
    if (!outcomes.has(selector)) outcomes.set(selector, { kind: 'not-found', cause: `GetParameters did not return ${selector}` });
  }
  return outcomes;
}

/**
 * Which asked-for selector each returned parameter answers. A selected version comes back as its plain
 * name with `Selector` set; where an implementation leaves `Selector` out, the name and version it does
 * carry decide: `name:version` when that was asked for, and the plain name gets the newest version returned.
 */
export function matchParameters(asked: readonly string[], parameters: readonly { Name?: string; Version?: number; Value?: string; Selector?: string }[]): Map<string, string> {
  const wanted = new Set(asked);
  const matched = new Map<string, string>();
  const newest = new Map<string, number>();
  for (const { Name: name, Version: version, Value: value = '', Selector: selector } of parameters) {
    if (!name) continue;
    const versioned = `${name}:${version}`;
    if (selector) {
      matched.set(versioned, value);
      continue;
    }
    if (wanted.has(versioned)) matched.set(versioned, value);
    if (wanted.has(name) && (version ?? 0) >= (newest.get(name) ?? -1)) {
      newest.set(name, version ?? 0);
      matched.set(name, value);
    }
  }
  return matched;
}

/** Secret id → outcome. */
async function readSecrets(ids: string[], clients: ReferenceClients, signal: AbortSignal): Promise<Map<string, Outcome>> {
  const [{ GetSecretValueCommand }, client] = await Promise.all([import('@aws-sdk/client-secrets-manager'), clients.secretsManager()]);
  const secretsManager = withAbortSignal(client, signal);
  const outcomes = new Map<string, Outcome>();
  const limit = concurrencyLimit(MAX_PARALLEL_CALLS);
  await Promise.all(ids.map((id) => limit(async () => {
    try {
      const result = await secretsManager.send(new GetSecretValueCommand({ SecretId: id }));
      if (result.SecretString !== undefined) {
        outcomes.set(id, { value: result.SecretString });
      } else {
        result.SecretBinary?.fill(0);
        outcomes.set(id, { kind: 'not-text', cause: `secret ${id} holds SecretBinary; an environment variable holds text, so store it as SecretString (e.g. base64)` });
      }
    } catch (error) {
      const { kind, cause } = failureFromError('', error, signal);
      outcomes.set(id, { kind, cause });
    }
  })));
  return outcomes;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
