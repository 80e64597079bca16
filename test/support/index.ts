export * from './fake-clock.ts';
export * from './engine.ts';
export * from './errors.ts';
export { NativeClient, type NativeClientOptions } from '@conveyor/client-sdk';
export * from './zookeeper.ts';
export * from './cluster.ts';
export * from './routed-client.ts';
export * from './metadata.ts';
export * from './stack.ts';
