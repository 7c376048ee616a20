export { promptFeatures, promptFeaturesUnchecked, promptFeaturesOptionsSchema } from './prompt-features';
export {
  FlowGenerator,
  createFlowGenerator,
  flowGeneratorConfigSchema,
  depthToSpace2,
  toModelSpace,
  toPixelSpace,
} from './flow-generator';
export type { FlowGeneratorConfig, FlowGeneratorConfigInput } from './flow-generator';
export { saveFlowGenerator, loadFlowGenerator, flowGeneratorFormatVersion } from './checkpoint';
