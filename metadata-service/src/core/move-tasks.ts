/**
 * Message move tasks (SQS's dead-letter queue redrive): the task record, SQS's rules for starting,
 * cancelling and listing tasks, the lifecycle as a transition table, task handles, where each
 * message goes and what is sent for it, and the pacing that holds a task to its rate.
 * Pure: callers pass the time, ids and what they looked up; nothing here touches ZooKeeper or a
 * backend (metadata-service/src/move-task-runner.ts does).
 */
import { createHash } from 'node:crypto';
import {
  ConveyorError,
  invalidParameter,
  missingParameter,
  type NativeReceivedMessage,
  type NativeSendEntry,
} from '@conveyor/client-sdk/wire';

export const MOVE_TASK_DEFAULTS = Object.freeze({
  /** SQS's ceiling for MaxNumberOfMessagesPerSecond. */
  maxMessagesPerSecondLimit: 500,
  /** The rate of a task that names none (SQS: "system-optimized"): the ceiling. */
  defaultMessagesPerSecond: 500,
  /** Messages per receive/send/delete round (the native batch limit). */
  batchSize: 10,
  /** Visibility of received messages while they are sent on; they come back if the driver dies. */
  receiveVisibilitySeconds: 60,
  /** Finished tasks kept per source queue (ListMessageMoveTasks shows at most 10). */
  keepFinishedTasks: 10,
  listDefaultResults: 1,
  listMaxResults: 10,
  /** How often a driver saves its count and looks for a cancel. */
  checkpointIntervalMs: 500,
});

export type MoveTaskStatus = 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

/** The lifecycle: every legal move. COMPLETED, CANCELLED and FAILED are final. */
export const MOVE_TASK_TRANSITIONS: Readonly<Record<MoveTaskStatus, readonly MoveTaskStatus[]>> = Object.freeze({
  RUNNING: Object.freeze(['COMPLETED', 'CANCELLING', 'FAILED'] as const),
  CANCELLING: Object.freeze(['CANCELLED', 'FAILED'] as const),
  COMPLETED: Object.freeze([] as const),
  CANCELLED: Object.freeze([] as const),
  FAILED: Object.freeze([] as const),
});

export const MOVE_TASK_STATUSES = Object.freeze(Object.keys(MOVE_TASK_TRANSITIONS) as MoveTaskStatus[]);

/** A task as ZooKeeper keeps it (`<root>/move-tasks/<source queue>/tasks/<taskId>`, JSON). */
export interface MoveTask {
  taskId: string;
  sourceArn: string;
  sourceQueue: string;
  /** Absent: each message goes back to the queue named by its DeadLetterQueueSourceArn. */
  destinationArn?: string;
  /**
   * The account that started the task: without a destination, a message goes back only to a
   * source this account may send to (else the task fails). Absent: an operator's task, unchecked.
   */
  caller?: string;
  /** As requested; absent when the request named no rate. */
  maxMessagesPerSecond?: number;
  status: MoveTaskStatus;
  /** ApproximateNumberOfMessagesMoved (as last saved by the driver). */
  moved: number;
  /** ApproximateNumberOfMessagesToMove: the source's messages when the task started. */
  toMove: number;
  failureReason?: string;
  startedAt: number;
  updatedAt: number;
}

/** What a move task is shown as (the frontend names the fields as SQS does). */
export interface MoveTaskView {
  /** Only while RUNNING, as in SQS. */
  taskHandle?: string;
  status: MoveTaskStatus;
  sourceArn: string;
  destinationArn?: string;
  maxMessagesPerSecond?: number;
  moved: number;
  toMove: number;
  failureReason?: string;
  startedAt: number;
}

/** What the caller knows about a queue named by an ARN. */
export interface QueueFacts {
  name: string;
  arn: string;
  fifo: boolean;
  /** Some queue's redrive policy names this queue as its dead-letter queue. */
  isDeadLetterQueue: boolean;
}

export interface StartRequest {
  sourceArn?: unknown;
  /** The starting account (a 12-digit id), when a frontend starts the task for one. */
  caller?: unknown;
  destinationArn?: unknown;
  maxMessagesPerSecond?: unknown;
}

export interface CheckedStart {
  source: QueueFacts;
  caller?: string;
  destination?: QueueFacts;
  maxMessagesPerSecond?: number;
}

// ---------------------------------------------------------------- errors (SQS's texts)

const notFound = (parameter: 'SourceArn' | 'DestinationArn'): ConveyorError =>
  new ConveyorError('ResourceNotFoundException', `The resource that you specified for the ${parameter} parameter doesn't exist.`, { parameter });

export const taskDoesNotExist = (taskId: string): ConveyorError => new ConveyorError('ResourceNotFoundException', 'Task does not exist.', { task: taskId });

export const sourceDoesNotExist = (): ConveyorError => notFound('SourceArn');
export const destinationDoesNotExist = (): ConveyorError => notFound('DestinationArn');

export const alreadyRunning = (sourceArn: string): ConveyorError =>
  new ConveyorError('InvalidParameterValue', 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.', { source: sourceArn });

const invalidHandle = (): ConveyorError => new ConveyorError('InvalidParameterValue', 'Value for parameter TaskHandle is invalid.', { parameter: 'TaskHandle' });

// ---------------------------------------------------------------- lifecycle

export const isActive = (status: MoveTaskStatus): boolean => status === 'RUNNING' || status === 'CANCELLING';
export const isFinal = (status: MoveTaskStatus): boolean => MOVE_TASK_TRANSITIONS[status].length === 0;

export function canTransition(from: MoveTaskStatus, to: MoveTaskStatus): boolean {
  return MOVE_TASK_TRANSITIONS[from].includes(to);
}

/** The task in its next state; an illegal move is an error naming both states. */
export function transition(task: MoveTask, to: MoveTaskStatus, now: number, failureReason?: string): MoveTask {
  if (!canTransition(task.status, to)) {
    throw new ConveyorError('InternalFailure', `Move task ${task.taskId} cannot go from ${task.status} to ${to}.`, { task: task.taskId, from: task.status, to });
  }
  const next: MoveTask = { ...task, status: to, updatedAt: now };
  if (to === 'FAILED') next.failureReason = failureReason ?? 'InternalFailure';
  return next;
}

/** CancelMessageMoveTask: only a RUNNING task can be cancelled; it is CANCELLING until its driver stops. */
export function cancelTask(task: MoveTask, now: number): MoveTask {
  if (task.status !== 'RUNNING') {
    throw new ConveyorError('InvalidParameterValue', `Only a task with status RUNNING can be cancelled; this task is ${task.status}.`, { task: task.taskId, status: task.status });
  }
  return transition(task, 'CANCELLING', now);
}

export type MoveOutcome = { kind: 'sourceEmpty' } | { kind: 'cancelSeen' } | { kind: 'failed'; reason: string };

/**
 * Where a driver's run ends: an empty source completes a RUNNING task, and cancels a CANCELLING
 * one (the cancel was asked for, and it is what the caller waits to see).
 */
export function finishTask(task: MoveTask, outcome: MoveOutcome, now: number): MoveTask {
  if (outcome.kind === 'failed') return transition(task, 'FAILED', now, outcome.reason);
  if (outcome.kind === 'cancelSeen' || task.status === 'CANCELLING') return transition(task, 'CANCELLED', now);
  return transition(task, 'COMPLETED', now);
}

/** Adds messages moved since the last save. Only an active task moves messages. */
export function recordProgress(task: MoveTask, moved: number, now: number): MoveTask {
  if (!Number.isInteger(moved) || moved < 0) throw new ConveyorError('InternalFailure', `A move task cannot move ${moved} messages.`, { task: task.taskId });
  if (moved === 0) return task;
  if (!isActive(task.status)) throw new ConveyorError('InternalFailure', `Move task ${task.taskId} is ${task.status}: it moves nothing more.`, { task: task.taskId, status: task.status });
  return { ...task, moved: task.moved + moved, updatedAt: now };
}

// ---------------------------------------------------------------- starting

function optionalArn(value: unknown, parameter: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(parameter, JSON.stringify(value), 'Must be a string.');
  return value;
}

/** MaxNumberOfMessagesPerSecond: an integer 1–500 when given. */
export function checkMessagesPerSecond(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const limit = MOVE_TASK_DEFAULTS.maxMessagesPerSecondLimit;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit) {
    throw invalidParameter('MaxNumberOfMessagesPerSecond', typeof value === 'number' ? value : JSON.stringify(value), `Must be between 1 and ${limit}.`);
  }
  return value;
}

/**
 * StartMessageMoveTask's rules, in SQS's order: the parameters, a source that exists and is some
 * queue's dead-letter queue, a destination that exists (when named) and is of the source's type,
 * and no other active task for the source.
 */
export function checkStart(request: StartRequest, lookup: (arn: string) => QueueFacts | undefined, hasActiveTask: (source: QueueFacts) => boolean): CheckedStart {
  const sourceArn = optionalArn(request.sourceArn, 'SourceArn');
  if (sourceArn === undefined || sourceArn === '') throw missingParameter('SourceArn');
  const destinationArn = optionalArn(request.destinationArn, 'DestinationArn');
  const maxMessagesPerSecond = checkMessagesPerSecond(request.maxMessagesPerSecond);
  if (request.caller !== undefined && (typeof request.caller !== 'string' || !/^\d{12}$/.test(request.caller))) throw invalidParameter('caller', JSON.stringify(request.caller), 'Must be a 12-digit account id.');
  const source = lookup(sourceArn);
  if (!source) throw notFound('SourceArn');
  if (!source.isDeadLetterQueue) throw new ConveyorError('InvalidParameterValue', 'Source queue must be configured as a Dead Letter Queue.', { queue: source.name });
  let destination: QueueFacts | undefined;
  if (destinationArn !== undefined && destinationArn !== '') {
    destination = lookup(destinationArn);
    if (!destination) throw notFound('DestinationArn');
    if (destination.arn === source.arn) throw new ConveyorError('InvalidParameterValue', 'The source and destination queues must be different.', { parameter: 'DestinationArn' });
    if (destination.fifo !== source.fifo) {
      throw new ConveyorError('InvalidParameterValue', 'The source and destination queues must be of the same type (FIFO or standard).', { parameter: 'DestinationArn' });
    }
  }
  if (hasActiveTask(source)) throw alreadyRunning(source.arn);
  const checked: CheckedStart = { source };
  if (typeof request.caller === 'string') checked.caller = request.caller;
  if (destination) checked.destination = destination;
  if (maxMessagesPerSecond !== undefined) checked.maxMessagesPerSecond = maxMessagesPerSecond;
  return checked;
}

export function newTask(checked: CheckedStart, input: { taskId: string; toMove: number; now: number }): MoveTask {
  const task: MoveTask = {
    taskId: input.taskId,
    sourceArn: checked.source.arn,
    sourceQueue: checked.source.name,
    status: 'RUNNING',
    moved: 0,
    toMove: Math.max(0, input.toMove),
    startedAt: input.now,
    updatedAt: input.now,
  };
  if (checked.destination) task.destinationArn = checked.destination.arn;
  if (checked.caller !== undefined) task.caller = checked.caller;
  if (checked.maxMessagesPerSecond !== undefined) task.maxMessagesPerSecond = checked.maxMessagesPerSecond;
  return task;
}

export function effectiveRate(task: Pick<MoveTask, 'maxMessagesPerSecond'>): number {
  return task.maxMessagesPerSecond ?? MOVE_TASK_DEFAULTS.defaultMessagesPerSecond;
}

// ---------------------------------------------------------------- handles

/** A task handle names the task and its source, as SQS's do: base64url of `{"taskId","sourceArn"}`. */
export function encodeTaskHandle(taskId: string, sourceArn: string): string {
  return Buffer.from(JSON.stringify({ taskId, sourceArn }), 'utf8').toString('base64url');
}

/** The task and source a handle names; InvalidParameterValue for anything this service did not issue. */
export function parseTaskHandle(handle: unknown): { taskId: string; sourceArn: string } {
  if (typeof handle !== 'string' || handle.length === 0 || handle.length > 4096) throw invalidHandle();
  try {
    const text = Buffer.from(handle, 'base64url').toString('utf8');
    // Node's decoder skips characters it does not know: only a handle that round-trips is ours.
    if (Buffer.from(text, 'utf8').toString('base64url') !== handle) throw new Error('not base64url');
    const parsed = JSON.parse(text) as { taskId?: unknown; sourceArn?: unknown };
    if (typeof parsed.taskId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(parsed.taskId) || typeof parsed.sourceArn !== 'string') throw new Error('fields');
    return { taskId: parsed.taskId, sourceArn: parsed.sourceArn };
  } catch {
    throw invalidHandle();
  }
}

// ---------------------------------------------------------------- listing

/** ListMessageMoveTasks' MaxResults: 1–10, default 1. */
export function checkListMaxResults(value: unknown): number {
  if (value === undefined || value === null) return MOVE_TASK_DEFAULTS.listDefaultResults;
  const limit = MOVE_TASK_DEFAULTS.listMaxResults;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit) {
    throw invalidParameter('MaxResults', typeof value === 'number' ? value : JSON.stringify(value), `Must be between 1 and ${limit}.`);
  }
  return value;
}

const mostRecentFirst = (a: MoveTask, b: MoveTask): number => b.startedAt - a.startedAt || (a.taskId < b.taskId ? 1 : a.taskId > b.taskId ? -1 : 0);

export function recentTasks(tasks: readonly MoveTask[], maxResults: number): MoveTask[] {
  return [...tasks].sort(mostRecentFirst).slice(0, maxResults);
}

/** Finished tasks beyond the `keep` most recent ones; active tasks are never pruned. */
export function tasksToPrune(tasks: readonly MoveTask[], keep: number = MOVE_TASK_DEFAULTS.keepFinishedTasks): string[] {
  return [...tasks].filter((t) => isFinal(t.status)).sort(mostRecentFirst).slice(keep).map((t) => t.taskId);
}

export function taskView(task: MoveTask): MoveTaskView {
  const view: MoveTaskView = { status: task.status, sourceArn: task.sourceArn, moved: task.moved, toMove: task.toMove, startedAt: task.startedAt };
  if (task.status === 'RUNNING') view.taskHandle = encodeTaskHandle(task.taskId, task.sourceArn);
  if (task.destinationArn !== undefined) view.destinationArn = task.destinationArn;
  if (task.maxMessagesPerSecond !== undefined) view.maxMessagesPerSecond = task.maxMessagesPerSecond;
  if (task.status === 'FAILED' && task.failureReason !== undefined) view.failureReason = task.failureReason;
  return view;
}

// ---------------------------------------------------------------- moving messages

/** SQS's failure reason for a message that cannot go back to a source it does not name. */
export const NO_MESSAGE_SOURCE = 'CouldNotDetermineMessageSource';
/**
 * SQS's failure reason when the destination queue is gone; also when a message's source is one
 * the task's caller may not send to (answered as a missing queue, so nothing leaks).
 */
export const DESTINATION_GONE = 'AWS.SimpleQueueService.NonExistentQueue';

/**
 * The first destination of a batch the task may not send to: without a task destination, each
 * source a message goes back to must be one the caller may send to (`maySend` asks its owner and
 * Policy). Tasks with a destination (checked when started) and operators' tasks pass.
 */
export function refusedDestination(task: Pick<MoveTask, 'destinationArn' | 'caller'>, arns: Iterable<string>, maySend: (caller: string, arn: string) => boolean): string | undefined {
  if (task.destinationArn !== undefined || task.caller === undefined) return undefined;
  for (const arn of arns) if (!maySend(task.caller, arn)) return arn;
  return undefined;
}

/** Where one message goes: the task's destination, else the queue it was dead-lettered from. */
export function destinationOf(task: Pick<MoveTask, 'destinationArn'>, message: Pick<NativeReceivedMessage, 'systemAttributes'>): { arn: string } | { failure: string } {
  if (task.destinationArn !== undefined) return { arn: task.destinationArn };
  const origin = message.systemAttributes.DeadLetterQueueSourceArn;
  return origin ? { arn: origin } : { failure: NO_MESSAGE_SOURCE };
}

/** Messages grouped by destination, in receive order (so FIFO groups keep their order). */
export function planBatch(task: Pick<MoveTask, 'destinationArn'>, messages: readonly NativeReceivedMessage[]): { batches: Map<string, NativeReceivedMessage[]> } | { failure: string } {
  const batches = new Map<string, NativeReceivedMessage[]>();
  for (const m of messages) {
    const where = destinationOf(task, m);
    if ('failure' in where) return { failure: where.failure };
    batches.set(where.arn, [...(batches.get(where.arn) ?? []), m]);
  }
  return { batches };
}

/** The send for a moved message: body, attributes, trace header and sender; group id; dedup id for FIFO. */
export function redriveEntry(message: NativeReceivedMessage, id: string, destinationFifo: boolean): NativeSendEntry {
  const system = message.systemAttributes;
  const entry: NativeSendEntry = { id, body: message.body };
  if (message.attributes && Object.keys(message.attributes).length > 0) entry.attributes = message.attributes;
  if (system.MessageGroupId !== undefined) entry.groupId = system.MessageGroupId;
  if (destinationFifo && system.MessageDeduplicationId !== undefined) {
    entry.dedupId = system.MessageDeduplicationId;
    // One receive, one key: a retried batch is deduplicated, a later move of the same message is not.
    entry.redriveKey = createHash('sha256').update(message.receiptHandle).digest('base64url');
  }
  if (system.AWSTraceHeader !== undefined) entry.traceHeader = system.AWSTraceHeader;
  if (system.SenderId !== undefined) entry.senderId = system.SenderId;
  return entry;
}

// ---------------------------------------------------------------- pacing

/**
 * Holds a task to its rate: each moved message reserves 1000/rate ms, and a batch may start only
 * when everything moved before it has had its time. So by any time T no more than
 * rate × (T − start) / 1000 messages were moved before the last batch started, and idle time is
 * not banked into bursts.
 */
export interface Pacer {
  readonly nextAt: number;
}

export function startPacer(now: number): Pacer {
  return { nextAt: now };
}

/** How long to wait before the next batch, and how many messages it may take. */
export function paceBatch(pacer: Pacer, now: number, perSecond: number, batchSize: number = MOVE_TASK_DEFAULTS.batchSize): { waitMs: number; maxMessages: number } {
  return { waitMs: Math.max(0, Math.ceil(pacer.nextAt - now)), maxMessages: Math.max(1, Math.min(batchSize, Math.floor(perSecond))) };
}

/** The pacer after a batch that started at `startedAt` took `messages` messages. */
export function chargePacer(pacer: Pacer, startedAt: number, messages: number, perSecond: number): Pacer {
  return { nextAt: Math.max(pacer.nextAt, startedAt) + (messages * 1000) / perSecond };
}
