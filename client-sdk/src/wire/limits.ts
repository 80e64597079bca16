/** SQS's limits (as of 2025/2026), used as Conveyor's defaults and hard bounds. */
export const LIMITS = Object.freeze({
  maxMessageBytes: 1_048_576,
  minMaximumMessageSizeBytes: 1_024,
  maxBatchBytes: 1_048_576,
  maxBatchEntries: 10,
  maxReceiveMessages: 10,
  maxMessageAttributes: 10,
  maxAttributeNameLength: 256,
  maxAttributeDataTypeLength: 256,
  maxBatchEntryIdLength: 80,
  maxGroupIdLength: 128,
  maxDeduplicationIdLength: 128,
  maxInFlightMessages: 120_000,
  maxDelaySeconds: 900,
  maxVisibilityTimeoutSeconds: 43_200,
  maxWaitTimeSeconds: 20,
  minRetentionSeconds: 60,
  maxRetentionSeconds: 1_209_600,
  dedupWindowMs: 5 * 60_000,
  maxReceiveCountLimit: 1_000,
  maxQueueNameLength: 80,
});

/** The native API's largest batch (entries of a batch call, messages of a receive); SQS's protocols keep 10. */
export const MAX_NATIVE_BATCH = 1_000;

/** Queue attribute defaults, as SQS returns them for a new queue. */
export const QUEUE_DEFAULTS = Object.freeze({
  delaySeconds: 0,
  maximumMessageSize: 1_048_576,
  messageRetentionPeriodSeconds: 345_600,
  receiveMessageWaitTimeSeconds: 0,
  visibilityTimeoutSeconds: 30,
});
