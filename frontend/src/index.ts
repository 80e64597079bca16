/** Public entry point of the frontend. */
export { buildFrontend, type FrontendOptions } from './http/server.ts';
export { Router, wrapReceiptHandle, unwrapReceiptHandle } from './upstream/router.ts';
export { MetadataClient, type QueueRoute } from './upstream/metadata-client.ts';
export { FrontendMetrics } from './observability/metrics.ts';
export { countAuthFailure } from './http/observe.ts';
export { callerAccessKey } from './http/call-info.ts';
export { TRAFFIC_DEFAULTS, type TrafficConfig } from './http/traffic-guard.ts';
export { AccessKeys, loadAccessKeys, parseAccessKeys } from './auth/access-keys.ts';
export { verifySignature, type AccessKey, type SignedRequest, type VerifiedCaller, type VerifyOptions } from './auth/sigv4-verify.ts';
// Queue policies are evaluated by the metadata service's pure module too (redrive, move tasks).
export { evaluatePolicy, isAllowed, parsePolicy, type Decision, type QueuePolicy } from '@conveyor/metadata-service';
