/**
 * The one registry of Conveyor's error codes. Each code knows the JSON `__type` shape SQS uses,
 * the legacy (query protocol) code sent in `x-amzn-query-error`, its HTTP status, and whether a
 * retry can help. Servers and the SDK share it, so a code means the same thing on every hop.
 */
export interface ErrorCodeInfo {
  readonly shape: string;
  readonly legacyCode: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly senderFault: boolean;
}

const sqs = (name: string): string => `com.amazonaws.sqs#${name}`;
const legacy = (name: string): string => `AWS.SimpleQueueService.${name}`;

function code(shape: string, legacyCode: string, status = 400, retryable = false, senderFault = true): ErrorCodeInfo {
  return Object.freeze({ shape, legacyCode, status, retryable, senderFault });
}

export const ERROR_CODES = Object.freeze({
  QueueDoesNotExist: code(sqs('QueueDoesNotExist'), legacy('NonExistentQueue')),
  QueueNameExists: code(sqs('QueueNameExists'), 'QueueAlreadyExists'),
  QueueDeletedRecently: code(sqs('QueueDeletedRecently'), legacy('QueueDeletedRecently')),
  PurgeQueueInProgress: code(sqs('PurgeQueueInProgress'), legacy('PurgeQueueInProgress'), 403),
  OverLimit: code(sqs('OverLimit'), 'OverLimit', 403),
  ResourceNotFoundException: code(sqs('ResourceNotFoundException'), 'ResourceNotFoundException', 404),
  TooManyEntriesInBatchRequest: code(sqs('TooManyEntriesInBatchRequest'), legacy('TooManyEntriesInBatchRequest')),
  EmptyBatchRequest: code(sqs('EmptyBatchRequest'), legacy('EmptyBatchRequest')),
  BatchEntryIdsNotDistinct: code(sqs('BatchEntryIdsNotDistinct'), legacy('BatchEntryIdsNotDistinct')),
  InvalidBatchEntryId: code(sqs('InvalidBatchEntryId'), legacy('InvalidBatchEntryId')),
  BatchRequestTooLong: code(sqs('BatchRequestTooLong'), legacy('BatchRequestTooLong')),
  MessageNotInflight: code(sqs('MessageNotInflight'), legacy('MessageNotInflight')),
  UnsupportedOperation: code(sqs('UnsupportedOperation'), legacy('UnsupportedOperation')),
  ReceiptHandleIsInvalid: code(sqs('ReceiptHandleIsInvalid'), 'ReceiptHandleIsInvalid'),
  InvalidAttributeName: code(sqs('InvalidAttributeName'), 'InvalidAttributeName'),
  InvalidAttributeValue: code(sqs('InvalidAttributeValue'), 'InvalidAttributeValue'),
  InvalidIdFormat: code(sqs('InvalidIdFormat'), 'InvalidIdFormat'),
  InvalidMessageContents: code(sqs('InvalidMessageContents'), 'InvalidMessageContents'),
  InvalidParameterValue: code('com.amazon.coral.service#InvalidParameterValueException', 'InvalidParameterValue'),
  MissingParameter: code('com.amazon.coral.service#MissingRequiredParameterException', 'MissingParameter'),
  InvalidAction: code('com.amazon.coral.service#InvalidActionException', 'InvalidAction'),
  /** A path that is neither `/` nor a queue URL (SQS's model answers InvalidAddress with 404). */
  InvalidAddress: code(sqs('InvalidAddress'), 'InvalidAddress', 404),
  AccessDenied: code('com.amazon.coral.service#AccessDeniedException', 'AccessDenied', 403),
  RequestThrottled: code(sqs('RequestThrottled'), 'RequestThrottled', 400, true),
  // Authentication (SigV4), each a 403 as SQS answers them; none is retryable as is.
  MissingAuthenticationToken: code('com.amazon.coral.service#MissingAuthenticationTokenException', 'MissingAuthenticationToken', 403),
  IncompleteSignature: code('com.amazon.coral.service#IncompleteSignatureException', 'IncompleteSignature', 403),
  InvalidClientTokenId: code('com.amazon.coral.service#InvalidClientTokenIdException', 'InvalidClientTokenId', 403),
  SignatureDoesNotMatch: code('com.amazon.coral.service#SignatureDoesNotMatchException', 'SignatureDoesNotMatch', 403),
  RequestExpired: code('com.amazon.coral.service#RequestExpiredException', 'RequestExpired', 403),
  /** Conveyor's own: this node does not lead the queue's cluster; `context.leader` names who does. */
  NotLeader: code('conveyor#NotLeader', 'NotLeader', 503, true, false),
  /** Conveyor's own: the queue is moving to another cluster (`context.cluster`); re-resolve and retry there. */
  QueueMoved: code('conveyor#QueueMoved', 'QueueMoved', 503, true, false),
  /** Conveyor's own: the node cannot accept writes now (not enough in-sync replicas, storage failure). */
  ServiceUnavailable: code('com.amazon.coral.service#ServiceUnavailableException', 'ServiceUnavailable', 503, true, false),
  InternalFailure: code('com.amazon.coral.service#InternalFailure', 'InternalFailure', 500, true, false),
  /** The SDK's own: a request got no answer within its timeout (it may still have been applied). */
  RequestTimeout: code('conveyor#RequestTimeout', 'RequestTimeout', 504, true, false),
  /** The SDK's own: every endpoint's circuit breaker is open, so the call failed without being sent. */
  CircuitOpen: code('conveyor#CircuitOpen', 'CircuitOpen', 503, true, false),
  /** The SDK's own: the client or consumer was closed before the call could be made. */
  ClientClosed: code('conveyor#ClientClosed', 'ClientClosed', 400, false, true),
});

export type ErrorCode = keyof typeof ERROR_CODES;

/** Details that help an operator: which queue, node or epoch an error concerns. */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

/** An error with an SQS (or Conveyor) error code. Every error a server answers with is one of these. */
export class ConveyorError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConveyorError';
    this.code = code;
    this.context = context;
  }

  get info(): ErrorCodeInfo {
    return ERROR_CODES[this.code];
  }

  get status(): number {
    return this.info.status;
  }

  get retryable(): boolean {
    return this.info.retryable;
  }

  /** The server's request id (`x-amzn-RequestId`) when the error came from a server. */
  get requestId(): string | undefined {
    const id = this.context.requestId;
    return typeof id === 'string' ? id : undefined;
  }
}

export function isConveyorError(err: unknown, code?: ErrorCode): err is ConveyorError {
  return err instanceof ConveyorError && (code === undefined || err.code === code);
}

/** SQS's generic "Value X for parameter P is invalid. Reason: R." error. */
export function invalidParameter(parameter: string, value: unknown, reason: string): ConveyorError {
  return new ConveyorError(
    'InvalidParameterValue',
    `Value ${String(value)} for parameter ${parameter} is invalid. Reason: ${reason}`,
    { parameter },
  );
}

export function missingParameter(parameter: string): ConveyorError {
  return new ConveyorError('MissingParameter', `The request must contain the parameter ${parameter}.`, { parameter });
}

export function queueDoesNotExist(queue: string): ConveyorError {
  return new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue });
}

/** Whether a code received over the wire is one this registry knows. */
export function isErrorCode(text: unknown): text is ErrorCode {
  return typeof text === 'string' && Object.hasOwn(ERROR_CODES, text);
}
