import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('grpo', { testTimeout: 60_000 });
