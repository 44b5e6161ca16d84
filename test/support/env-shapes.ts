/**
 * Envs that between them make every resource the stacks can make: operator roles, a service with its own task
 * role, break-glass, a VPC endpoint, S3 state, and a local env. For tests that compare what the app synthesizes.
 */
import { fakeCiphertext, type TestProject } from './project.ts';

const ADMIN = 'arn:aws:iam::111122223333:role/platform-admin';
const TRUSTED = { awsPrincipals: ['arn:aws:iam::111122223333:root'] };

export const EVERY_ENV_SHAPE = {
  production: {
    region: 'eu-west-1', allowedAccountIds: ['111122223333'], keyAdministrators: [ADMIN], breakGlassPrincipals: [ADMIN],
    vpcEndpointId: 'vpce-0123456789abcdef0', ecsClusterArn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/production',
    backend: { type: 's3', bucket: 'acme-terraform-state', keyPrefix: 'kms-secrets' },
    roles: { ciPlan: TRUSTED, deployer: TRUSTED, developer: TRUSTED },
    services: { web: { taskRole: 'web-task' } },
  },
  demo: { local: true },
};

/** The envs of EVERY_ENV_SHAPE. */
export const ENV_SHAPE_NAMES = Object.keys(EVERY_ENV_SHAPE);

/** One secret per service of each env (the local env's in the local endpoint's format). */
export function writeEnvShapeSecrets(project: TestProject): void {
  for (const [env, service] of [['production', 'api'], ['production', 'web'], ['demo', 'api']]) {
    project.write(`secrets/${env}/${service}/password`, fakeCiphertext(env === 'demo' ? 'local' : 'kms'));
  }
}
