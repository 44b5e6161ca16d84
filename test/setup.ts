// cdktf's matchers (toHaveResource…) are written for Jest; under vitest they attach to the global expect.
import { Testing } from 'cdktf';
import { expect } from 'vitest';

(globalThis as unknown as { expect: typeof expect }).expect = expect;
Testing.setupJest();
