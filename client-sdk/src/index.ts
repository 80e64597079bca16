/** Public entry point of the client SDK. The wire protocol (types, codecs, errors) is re-exported. */
export * from './wire/index.ts';
export { NativeClient, type NativeClientOptions } from './native-client.ts';
export { RequestSigner, type Credentials, type RequestToSign, type SignerOptions } from './auth/sigv4.ts';
