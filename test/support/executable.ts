/** The standalone executable the runtime tests run a third time against: built for this machine into .cache/. */
import { join } from 'node:path';
import { hostTarget } from '../../runtime/build-executable.ts';

const target = hostTarget();
if (!target) throw new Error(`no standalone executable is built for ${process.platform}-${process.arch}`);
export const TEST_EXECUTABLE_TARGET = target;
export const TEST_EXECUTABLE = join(import.meta.dirname, '..', '..', '.cache', 'test-executable', `kms-secrets-runtime-${target}`);
