import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('sft', { testTimeout: 120_000 });
