export * from './errors';
export * from './numeric';
export * from './random';
export * from './advantages';
export * from './surrogate';
export * from './kl';
export * from './aggregation';
export * from './flow-sde';
