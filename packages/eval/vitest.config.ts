import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('eval', { testTimeout: 60_000 });
