/**
 * The backends the nn-op tests run on. Both, unless CONVNET_BACKEND=ts says only the TS backend
 * is wanted (then a missing native addon is not a failure).
 */
import { beforeAll } from 'vitest';
import { setBackend, type BackendName } from '../../lib/backend/index.js';

export const BACKENDS: BackendName[] =
  process.env.CONVNET_BACKEND === 'ts' ? ['ts'] : ['ts', 'native'];

/** Selects `name` before the tests of the enclosing describe block run. */
export function useBackend(name: BackendName): void {
  beforeAll(() => setBackend(name));
}
