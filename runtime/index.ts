// The runtime as a library, for apps that load their secrets themselves.
export { loadSecrets, type LoadSecretsOptions, type SecretClients } from './load.ts';
export { SecretsLoadError, type LoadFailure, type LoadFailureKind } from './failures.ts';
export { type Selection } from './selection.ts';
export { UsageError } from '../lib/errors.ts';
