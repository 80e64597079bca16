/** Public entry point of the client SDK. The wire protocol (types, codecs, errors) is re-exported. */
export * from './wire/index.ts';
export { NativeClient, type NativeClientOptions } from './native-client.ts';
export { rawPost } from './transport/raw-post.ts';
export { RequestSigner, type Credentials, type RequestToSign, type SignerOptions } from './auth/sigv4.ts';
export { Conveyor } from './conveyor.ts';
export { Queue } from './queue.ts';
export { Consumer, type ConsumeOptions, type ConsumerQueue, type ConsumerStage, type ConsumerStats, type HandlerContext, type MessageHandler, type MessageRef } from './consumer/consumer.ts';
export type { OutgoingMessage, ReceivedMessage, ReceiveOptions, SendResult } from './messages.ts';
export { fromWireAttributes, toWireAttributes, type QueueAttributes, type QueueDescription, type RedrivePolicy } from './queue-attributes.ts';
export { CLIENT_DEFAULTS, MAX_NATIVE_BATCH, resolveClientOptions, type BatchingOptions, type ConveyorOptions } from './options.ts';
export { Batcher, type BatcherOptions, type BatchExecutor, type EntryOutcome } from './batching/batcher.ts';
export { backoffDelayMs, DEFAULT_RETRY, isRetryable, nextRetryDelayMs, type RetryOptions } from './resilience/backoff.ts';
export { CircuitBreaker, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './resilience/circuit-breaker.ts';
export { REAL_TIMERS, sleep, type TimerHandle, type Timers } from './timers.ts';
