export * from './errors.ts';
export * from './limits.ts';
export * from './md5.ts';
export * from './digest.ts';
export * from './types.ts';
export * from './validate.ts';
export * from './queue-attributes.ts';
export * from './native.ts';
