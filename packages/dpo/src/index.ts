export { dpoLoss, dpoLossOptionsSchema, dpoLossTypeSchema, softplus } from './losses';
export type { DpoLossOptions, DpoLossType, DpoPairLoss, PreferenceLogProbs } from './losses';
