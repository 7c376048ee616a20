export * from './media';
export * from './schemas';
export * from './categories';
export * from './judge';
export * from './compact';
export * from './compact-grammar';
export * from './lenient-json';
export * from './parse';
