/** Public entry point of the frontend. */
export { buildFrontend, type FrontendOptions } from './http/server.ts';
export { Router, wrapReceiptHandle, unwrapReceiptHandle } from './upstream/router.ts';
export { MetadataClient, type QueueRoute } from './upstream/metadata-client.ts';
