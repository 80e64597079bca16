export * from './fake-clock.ts';
export * from './engine.ts';
export * from './errors.ts';
export * from './native-client.ts';
export * from './zookeeper.ts';
export * from './cluster.ts';
