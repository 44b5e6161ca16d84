/** Builds the standalone executable for this machine once, before the runtime tests run against it. */
import { buildRuntimeExecutable } from '../runtime/build-executable.ts';
import { TEST_EXECUTABLE, TEST_EXECUTABLE_TARGET } from './support/executable.ts';

export default function setup(): void {
  process.stderr.write(`building the standalone runtime for ${TEST_EXECUTABLE_TARGET} into ${TEST_EXECUTABLE}\n`);
  buildRuntimeExecutable(TEST_EXECUTABLE_TARGET, TEST_EXECUTABLE);
}
