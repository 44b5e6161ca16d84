/** Every command's arguments: a mistake in them is a usage error (exit 2) that names it, never a stack trace. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COMMANDS } from '../../scripts/commands/index.ts';
import { runCli } from '../support/cli.ts';
import { makeProject, type TestProject } from '../support/project.ts';

let project: TestProject;
beforeAll(() => (project = makeProject()));
afterAll(() => project.remove());

describe('an unknown option', () => {
  test.each(Object.keys(COMMANDS))('kms-secrets %s --bogus: exit 2, naming the option, with the command\'s usage as the hint', async (command) => {
    const run = await runCli([command, '--bogus'], { cwd: project.root });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^kms-secrets: unknown option --bogus\\nhint: usage: kms-secrets ${command}( .*)?\\n$`));
  });
});
