// The constructs as a library, for a cdktf app of your own: `import { SecretsEnvironment } from 'kms-secrets'`.
export { loadEnvironment, SecretsEnvironment, type SecretsEnvironmentProps } from './secrets-environment.ts';
export { ServiceAccess, type RoleLike, type ServiceAccessProps } from './service-access.ts';
export { SecretsKey, type SecretsKeyProps } from './key.ts';
export { SecretsBucket, type SecretsBucketProps } from './bucket.ts';
export { SecretObjects, type SecretObjectsProps } from './objects.ts';
export { OperatorAccess, type OperatorAccessProps } from './operator-access.ts';
export { EnvironmentStack, type EnvironmentStackProps } from './environment-stack.ts';
export { loadSettings, parseSettings, type EnvironmentSettings, type RoleReference, type ServiceSettings, type Settings } from '../lib/settings.ts';
export { loadSecretsTree, type SecretFile, type SecretsTree } from '../lib/tree.ts';
export { KmsSecretsError } from '../lib/errors.ts';
