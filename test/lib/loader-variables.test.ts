/**
 * No secret may become a variable that changes how a program starts or what it loads: a developer, who may
 * only encrypt, could otherwise run code inside the task. The rule, and the tree that applies it.
 */
import { describe, expect, it } from 'vitest';
import { loaderVariableProblem } from '../../lib/loader-variables.ts';
import { parseSettings } from '../../lib/settings.ts';
import { scanSecretsTree } from '../../lib/tree.ts';
import { fakeCiphertext, makeProject } from '../support/project.ts';

describe('loaderVariableProblem', () => {
  it.each([
    'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'GCONV_PATH', 'GLIBC_TUNABLES', 'HOSTALIASES',
    'PATH', 'IFS', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'PS4', 'ZDOTDIR',
    'NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONWARNINGS', 'PERL5OPT', 'PERL5LIB', 'RUBYOPT', 'RUBYLIB',
    'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH', 'DOTNET_STARTUP_HOOKS', 'CORECLR_PROFILER_PATH',
    'PHPRC', 'LUA_INIT', 'OPENSSL_CONF',
  ])('refuses %s, naming who reads it and how to allow it', (variable) => {
    expect(loaderVariableProblem(variable)).toMatch(new RegExp(`^${variable} changes how programs start or what code they load \\(.+\\); .*allowLoaderVariables`));
  });

  it.each(['DB_PASSWORD', 'API_KEY', 'NODE_ENV', 'PATHNAME', 'LD', 'TLS_CRT', 'ENVIRONMENT'])('lets an ordinary variable %s through', (variable) => {
    expect(loaderVariableProblem(variable)).toBeUndefined();
  });

  it('lets a loader variable through when the settings allow it by name, and no other', () => {
    expect(loaderVariableProblem('JAVA_TOOL_OPTIONS', ['JAVA_TOOL_OPTIONS'])).toBeUndefined();
    expect(loaderVariableProblem('JAVA_OPTS', ['JAVA_TOOL_OPTIONS'])).toBeDefined();
  });
});

describe('the tree refuses a secret that would set a loader variable', () => {
  it('lists node-options, ld.preload and bash_env as problems of their files (verify, synth and every command read this)', async () => {
    const project = makeProject({ files: {
      'secrets/staging/api/node-options': fakeCiphertext(),
      'secrets/staging/api/ld.preload': fakeCiphertext(),
      'secrets/staging/api/bash_env': fakeCiphertext(),
      'secrets/staging/api/db-password': fakeCiphertext(),
    } });
    try {
      const tree = await scanSecretsTree(project.root, parseSettings({}));
      expect(tree.problems.map((p) => [p.file, p.rule.split(' ')[0]])).toEqual([
        ['secrets/staging/api/bash_env', 'BASH_ENV'],
        ['secrets/staging/api/ld.preload', 'LD_PRELOAD'],
        ['secrets/staging/api/node-options', 'NODE_OPTIONS'],
      ]);
      expect(tree.files.map((f) => f.name)).toEqual(['db-password']);
    } finally {
      project.remove();
    }
  });

  it('accepts one an env\'s settings allow explicitly, in that env only', async () => {
    const project = makeProject({ files: {
      'secrets/staging/jvm/java-tool-options': fakeCiphertext(),
      'secrets/production/jvm/java-tool-options': fakeCiphertext(),
    } });
    try {
      const tree = await scanSecretsTree(project.root, parseSettings({ environments: { staging: { allowLoaderVariables: ['JAVA_TOOL_OPTIONS'] } } }));
      expect(tree.files.map((f) => f.env)).toEqual(['staging']);
      expect(tree.problems.map((p) => p.file)).toEqual(['secrets/production/jvm/java-tool-options']);
    } finally {
      project.remove();
    }
  });
});
