export * from './random';
export * from './metrics';
