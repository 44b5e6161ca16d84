export { ecsTaskCredentialsUrl, NonLoopbackHostError, runningEndpoint, start, type LocalEndpoint, type StartOptions } from './server.ts';
export type { QuotaSettings } from './quota.ts';
export type { FaultKind, FaultRule, Faults } from './faults.ts';
export type { RequestLogEntry } from './request-log.ts';
export { ACCOUNT_ID } from './protocol.ts';
export { awsProviderConfig, TEST_CREDENTIALS, terraformProviderEnv } from './terraform-provider.ts';
