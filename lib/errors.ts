/**
 * Errors a person can act on: what was wrong, where (file, env, service, secret), and what to do.
 * No error message ever contains a secret value; callers pass names and causes only.
 */
export class KmsSecretsError extends Error {
  /** One line telling the user what to do next, printed under the message. */
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Arguments or options that cannot work: nothing was done. Commands exit 2 for it. */
export class UsageError extends KmsSecretsError {}

/** A name (env, service, secret) that breaks the naming rules. */
export class NamingError extends KmsSecretsError {}

/** A ciphertext names another env, service or secret in its encryption context than the place it was read from. */
export class EncryptionContextMismatchError extends KmsSecretsError {}

/** Bytes that are none of the ciphertext formats (lib/formats.ts): possibly plaintext, never decrypted or shown. */
export class NotCiphertextError extends KmsSecretsError {}

/** The settings file is unreadable or holds a value that is not allowed. */
export class SettingsError extends KmsSecretsError {}

/** One broken rule of the secrets tree, for one file. */
export interface TreeProblem {
  /** Path relative to the project root, e.g. `secrets/staging/api/password`. */
  readonly file: string;
  readonly rule: string;
}

/** The secrets tree breaks one or more rules; every problem is listed. */
export class SecretsTreeError extends KmsSecretsError {
  readonly problems: readonly TreeProblem[];

  constructor(problems: readonly TreeProblem[]) {
    const lines = problems.map((p) => `  ${p.file}: ${p.rule}`);
    super(`the secrets tree has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, {
      hint: 'secrets/ holds only ciphertext files at secrets/<env>/<service>/<name>; fix or remove the files above, then run `npm run verify`',
    });
    this.problems = problems;
  }
}
