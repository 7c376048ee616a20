import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('example-grpo-custom-loop');
