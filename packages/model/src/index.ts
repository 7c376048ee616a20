export { tf } from './engine';
export type { Tensor, Variable } from './engine';
export { ModelError, CheckpointError, InvalidOptionsError } from './errors';
export type { ModelErrorCode } from './errors';
export { initBackend, initBackendOptionsSchema, backendNames, backendReport, activeBackend, runMain } from './backend';
export type { BackendName, BackendReport, InitBackendOptions } from './backend';
export { installWasmKernelFixes, installZeroComparisonGradients, wasmKernelFixesInstalled } from './kernels';
