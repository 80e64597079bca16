export * from './fake-clock.ts';
export * from './engine.ts';
