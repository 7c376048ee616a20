import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('synth', { testTimeout: 60_000 });
