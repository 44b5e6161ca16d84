import { describe, expect, it } from 'vitest';
import { NamingError } from '../../lib/errors.ts';
import { encryptionContext, envOrServiceProblem, envVarName, objectKey, parseSecretPath, secretNameProblem } from '../../lib/naming.ts';

describe('env and service names', () => {
  it.each(['staging', 'prod-eu-1', '0day'])('accepts %s', (name) => {
    expect(envOrServiceProblem('service', name)).toBeUndefined();
  });
  it.each(['Api', '-api', 'api_v2', 'a.b', '', 'x'.repeat(33)])('rejects "%s" and states the rule', (name) => {
    expect(envOrServiceProblem('service', name)).toMatch(/service name ".*" must match \[a-z0-9\]\[a-z0-9-\]\*/);
  });
});

describe('secret names and their environment variable', () => {
  it.each([
    ['password', 'PASSWORD'],
    ['db-password', 'DB_PASSWORD'],
    ['tls.crt', 'TLS_CRT'],
    ['DB_URL', 'DB_URL'],
    ['_private', '_PRIVATE'],
  ])('%s is exposed as %s', (name, variable) => {
    expect(envVarName(name)).toBe(variable);
  });
  it.each(['..', '.env', '1password', 'a/b', 'pass word', 'pässword', 'x'.repeat(129)])('rejects "%s"', (name) => {
    expect(secretNameProblem(name)).toMatch(/breaks the naming rule/);
    expect(() => envVarName(name)).toThrow(NamingError);
  });
});

describe('secret paths typed on the command line', () => {
  it('parses service/secret', () => {
    expect(parseSecretPath('staging', 'api/db-password')).toEqual({ env: 'staging', service: 'api', name: 'db-password' });
  });
  it.each(['api/../web/password', '../staging/api/password', 'password', 'api/', '/api/password', 'API/password'])(
    'rejects %s', (path) => {
      expect(() => parseSecretPath('staging', path)).toThrow(NamingError);
    });
  it('rejects a bad env', () => {
    expect(() => parseSecretPath('Prod', 'api/password')).toThrow(/env name "Prod"/);
  });
});

describe('where a secret lives', () => {
  const ref = { env: 'staging', service: 'api', name: 'db-password' };
  it('is stored under <service>/<name> in the bucket', () => {
    expect(objectKey(ref)).toBe('api/db-password');
  });
  it('is bound to env, service and secret by its encryption context', () => {
    expect(encryptionContext(ref)).toEqual({ env: 'staging', service: 'api', secret: 'db-password' });
  });
});
