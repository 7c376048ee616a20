export * from './media';
export * from './schemas';
export * from './categories';
export * from './judge';
