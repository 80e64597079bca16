/** Public entry point of the client SDK. The wire protocol (types, codecs, errors) is re-exported. */
export * from './wire/index.ts';
export { NativeClient, type NativeClientOptions } from './native-client.ts';
