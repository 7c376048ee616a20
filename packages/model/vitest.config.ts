import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('model', { testTimeout: 120_000 });
