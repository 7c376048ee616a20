export * from './random';
export * from './metrics';
export * from './errors';
export * from './benchmark';
