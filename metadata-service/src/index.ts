/** Public entry point of the metadata service. */
export { MetadataService, type MetadataOptions, type QueueAnswer, type ClusterView } from './metadata-service.ts';
export { buildMetadataServer } from './http/server.ts';
export type { QueueRecord } from './core/queue-record.ts';
export { sourceDoesNotExist, destinationDoesNotExist, parseTaskHandle, type MoveTaskView } from './core/move-tasks.ts';
export { GRANTABLE_ACTIONS, isAllowed, parsePolicy, evaluatePolicy, type AccessRequest, type Decision, type QueuePolicy } from './core/queue-policy.ts';
