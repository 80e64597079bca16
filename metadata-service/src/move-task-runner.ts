/**
 * Message move tasks (SQS's DLQ redrive), the shell around core/move-tasks.ts: tasks in ZooKeeper,
 * the start/cancel/list operations, and one driver per running task in this process.
 *
 * ZooKeeper layout (JSON; one directory per source queue):
 *   <root>/move-tasks/<source>/tasks/<taskId>   the task (core MoveTask)
 *   <root>/move-tasks/<source>/active           {taskId} while a task is RUNNING or CANCELLING
 *   <root>/move-tasks/<source>/driver           ephemeral {instance, taskId}: who drives it now
 * `active` is created with its task in one multi-op and removed in the same multi-op that writes
 * the task's final state, so it always names the one active task (SQS allows one per source).
 *
 * A driver receives from the source with a visibility timeout, sends each message on (to the
 * task's destination, or back to the queue it was dead-lettered from), deletes what was sent, and
 * repeats at the task's rate until the source is empty, a cancel is seen, or the destination is
 * gone. A crash between send and delete can duplicate a message, never lose one. Drivers are
 * (re)started at start and by a periodic sweep, so a task outlives the instance that began it.
 */
import { randomUUID } from 'node:crypto';
import { ConveyorError, isConveyorError, type NativeClient, type NativeReceivedMessage } from '@conveyor/client-sdk';
import { zk, type ZkSession } from '@conveyor/backend-node';
import {
  MOVE_TASK_DEFAULTS,
  DESTINATION_GONE,
  cancelTask,
  chargePacer,
  checkListMaxResults,
  checkStart,
  effectiveRate,
  finishTask,
  isActive,
  newTask,
  paceBatch,
  parseTaskHandle,
  planBatch,
  recentTasks,
  recordProgress,
  redriveEntry,
  refusedDestination,
  sourceDoesNotExist,
  startPacer,
  taskDoesNotExist,
  taskView,
  tasksToPrune,
  alreadyRunning,
  type MoveOutcome,
  type MoveTask,
  type MoveTaskView,
  type Pacer,
  type QueueFacts,
  type StartRequest,
} from './core/move-tasks.ts';
import type { QueueRecord } from './core/queue-record.ts';
import { isAllowed } from './core/queue-policy.ts';
import type { RegistryCache, Versioned } from './registry-cache.ts';

export interface MoveTaskRunnerOptions {
  session: ZkSession;
  cache: RegistryCache;
  /** The native client of a backend cluster (its leader first). */
  backend: (clusterId: string) => NativeClient;
  /** Throws ServiceUnavailable while ZooKeeper is unreachable. */
  assertWritable: () => void;
  log: (message: string, extra?: Record<string, unknown>) => void;
  /** How often running tasks without a driver are looked for; default 5 s. */
  sweepIntervalMs?: number;
}

/** A driver's memory between steps: what it has moved but not saved yet, and its pace. */
interface DriverState {
  taskId: string;
  /** The task as last read (its destination and rate never change). */
  task: MoveTask;
  pacer: Pacer;
  unsaved: number;
  checkpointAt: number;
}

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const decode = <T>(data: Buffer | undefined): T => JSON.parse(data?.toString('utf8') ?? 'null') as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MAX_CAS_ATTEMPTS = 5;

export class MoveTaskRunner {
  private readonly instance = randomUUID();
  private readonly driving = new Set<string>();
  /** Sources whose driver was asked for while one was finishing: it looks again when it ends. */
  private readonly again = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: MoveTaskRunnerOptions) {}

  /** Resumes every active task now and keeps looking for ones left without a driver. */
  start(): void {
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs ?? 5_000);
    this.sweepTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  // ---------------------------------------------------------------- paths and ZooKeeper calls

  private get base(): string {
    return `${this.options.cache.root}/move-tasks`;
  }
  private taskDir(source: string): string {
    return `${this.base}/${source}/tasks`;
  }
  private taskPath(source: string, taskId: string): string {
    return `${this.taskDir(source)}/${taskId}`;
  }
  private activePath(source: string): string {
    return `${this.base}/${source}/active`;
  }
  private driverPath(source: string): string {
    return `${this.base}/${source}/driver`;
  }

  /** One ZooKeeper call, bounded; an answer refreshes the session's lease. */
  private async zkCall<T>(what: string, call: (client: zk.ZkClient) => Promise<T>): Promise<T> {
    const { session } = this.options;
    const result = await zk.withTimeout(call(session.client), session.opTimeoutMs, what);
    session.touch();
    return result;
  }

  private unavailable(error: unknown): Error {
    if (isConveyorError(error)) return error;
    return new ConveyorError('ServiceUnavailable', `ZooKeeper did not complete the move task operation: ${(error as Error).message}`, {}, { cause: error });
  }

  private async readTask(source: string, taskId: string): Promise<Versioned<MoveTask> | undefined> {
    try {
      const { data, stat } = await this.zkCall('read move task', (c) => zk.zkGetData(c, this.taskPath(source, taskId)));
      return { value: decode<MoveTask>(data), version: stat.version };
    } catch (error) {
      if (zk.zkErrorKind(error) === 'noNode') return undefined;
      throw error;
    }
  }

  private async activeTaskId(source: string): Promise<string | undefined> {
    try {
      const { data } = await this.zkCall('read active move task', (c) => zk.zkGetData(c, this.activePath(source)));
      return decode<{ taskId: string }>(data).taskId;
    } catch (error) {
      if (zk.zkErrorKind(error) === 'noNode') return undefined;
      throw error;
    }
  }

  private async readTasks(source: string): Promise<MoveTask[]> {
    let ids: string[];
    try {
      ids = await this.zkCall('list move tasks', (c) => zk.zkChildren(c, this.taskDir(source)));
    } catch (error) {
      if (zk.zkErrorKind(error) === 'noNode') return [];
      throw error;
    }
    const tasks = await Promise.all(ids.map((id) => this.readTask(source, id)));
    return tasks.filter((t): t is Versioned<MoveTask> => t !== undefined).map((t) => t.value);
  }

  /** A ZooKeeper multi-op: all of it happens or none of it does. */
  private commit(what: string, build: (tx: ReturnType<zk.ZkClient['transaction']>) => void): Promise<void> {
    return this.zkCall(what, (c) => new Promise<void>((resolve, reject) => {
      const tx = c.transaction();
      build(tx);
      tx.commit((error) => (error ? reject(error) : resolve()));
    }));
  }

  // ---------------------------------------------------------------- lookups

  private queueByArn(arn: string): QueueRecord | undefined {
    for (const { value } of this.options.cache.queues.values()) if (value.arn === arn) return value;
    return undefined;
  }

  private facts(arn: string): QueueFacts | undefined {
    const queue = this.queueByArn(arn);
    if (!queue) return undefined;
    const isDeadLetterQueue = [...this.options.cache.queues.values()].some((e) => e.value.config.redrive?.deadLetterQueue === queue.id);
    // Tasks name their source by queue id (the registry key).
    return { name: queue.id, arn: queue.arn, fifo: queue.config.fifo, isDeadLetterQueue };
  }

  // ---------------------------------------------------------------- operations

  /** StartMessageMoveTask: checks SQS's rules, records the task with its `active` marker, starts its driver. */
  async startTask(request: StartRequest): Promise<{ taskHandle: string; task: MoveTaskView }> {
    this.options.assertWritable();
    const named = typeof request.sourceArn === 'string' ? this.queueByArn(request.sourceArn) : undefined;
    let active: string | undefined;
    try {
      if (named) active = await this.activeTaskId(named.id);
    } catch (error) {
      throw this.unavailable(error);
    }
    const checked = checkStart(request, (arn) => this.facts(arn), () => active !== undefined);
    const source = this.queueByArn(checked.source.arn)!;
    const { counts } = await this.options.backend(source.clusterId).call('GetQueue', { queue: source.id });
    const task = newTask(checked, { taskId: randomUUID(), toMove: counts.visible + counts.inflight + counts.delayed, now: Date.now() });
    try {
      await this.zkCall('create move task directory', (c) => zk.zkMkdirp(c, this.taskDir(source.id)));
      await this.commit('create move task', (tx) =>
        tx.create(this.taskPath(source.id, task.taskId), encode(task), zk.CreateMode.PERSISTENT).create(this.activePath(source.id), encode({ taskId: task.taskId }), zk.CreateMode.PERSISTENT),
      );
    } catch (error) {
      // Another start (here or on another instance) got there first.
      if (zk.zkErrorKind(error) === 'nodeExists') throw alreadyRunning(checked.source.arn);
      throw this.unavailable(error);
    }
    this.options.log('move task started', { task: task.taskId, source: task.sourceArn, destination: task.destinationArn, rate: task.maxMessagesPerSecond });
    void this.prune(source.id);
    void this.drive(source.id);
    const view = taskView(task);
    return { taskHandle: view.taskHandle!, task: view };
  }

  /** CancelMessageMoveTask: RUNNING → CANCELLING by compare-and-set; the driver makes it CANCELLED. */
  async cancelTask(handle: unknown): Promise<MoveTaskView> {
    const { taskId, sourceArn } = parseTaskHandle(handle);
    this.options.assertWritable();
    const source = this.queueByArn(sourceArn);
    if (!source) throw sourceDoesNotExist();
    try {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const current = await this.readTask(source.id, taskId);
        if (!current || current.value.sourceArn !== sourceArn) throw taskDoesNotExist(taskId);
        const next = cancelTask(current.value, Date.now());
        try {
          await this.zkCall('cancel move task', (c) => zk.zkSetData(c, this.taskPath(source.id, taskId), encode(next), current.version));
        } catch (error) {
          if (zk.zkErrorKind(error) === 'badVersion') continue; // the driver saved progress meanwhile
          throw error;
        }
        this.options.log('move task cancelling', { task: taskId, source: sourceArn });
        void this.drive(source.id); // if no driver runs here, this one finishes the cancel
        return taskView(next);
      }
    } catch (error) {
      throw this.unavailable(error);
    }
    throw new ConveyorError('ServiceUnavailable', `Move task ${taskId} kept changing; try again.`, { task: taskId });
  }

  /** ListMessageMoveTasks: the most recent tasks of a source, newest first. */
  async listTasks(sourceArn: unknown, maxResults: unknown): Promise<MoveTaskView[]> {
    if (typeof sourceArn !== 'string' || sourceArn === '') throw new ConveyorError('MissingParameter', 'The request must contain the parameter SourceArn.', { parameter: 'SourceArn' });
    const max = checkListMaxResults(maxResults);
    const source = this.queueByArn(sourceArn);
    if (!source) throw sourceDoesNotExist();
    try {
      const tasks = await this.readTasks(source.id);
      return recentTasks(tasks.filter((t) => t.sourceArn === sourceArn), max).map(taskView);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Drops finished tasks beyond the most recent ones (best effort). */
  private async prune(source: string): Promise<void> {
    try {
      for (const taskId of tasksToPrune(await this.readTasks(source))) await this.zkCall('prune move task', (c) => zk.zkRemove(c, this.taskPath(source, taskId)));
    } catch (error) {
      this.options.log('pruning old move tasks failed', { source, error: (error as Error).message });
    }
  }

  /** Starts a driver for every source with an active task (those driven elsewhere are left alone by the claim). */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    try {
      const sources = await this.zkCall('list move task sources', (c) => zk.zkChildren(c, this.base)).catch((error: unknown) => {
        if (zk.zkErrorKind(error) === 'noNode') return [] as string[];
        throw error;
      });
      for (const source of sources) {
        if (!this.driving.has(source) && (await this.activeTaskId(source)) !== undefined) void this.drive(source);
      }
    } catch (error) {
      this.options.log('move task sweep failed', { error: (error as Error).message });
    }
  }

  // ---------------------------------------------------------------- the driver

  /** Drives the source's active task to its end; one driver per source in this process. */
  private async drive(source: string): Promise<void> {
    if (this.closed) return;
    if (this.driving.has(source)) {
      this.again.add(source);
      return;
    }
    this.driving.add(source);
    let state: DriverState | undefined;
    try {
      // Bounded by the task: each step moves a batch, or ends the task, or retries after a failure.
      for (let failures = 0; !this.closed; ) {
        try {
          // Before a long pause for the rate, save now what the last batch moved.
          const pause = state ? paceBatch(state.pacer, Date.now(), effectiveRate(state.task)).waitMs : 0;
          state = await this.checkpoint(source, state, pause >= MOVE_TASK_DEFAULTS.checkpointIntervalMs);
          if (!state) return;
          if (await this.step(source, state)) return;
          failures = 0;
        } catch (error) {
          failures += 1;
          this.options.log('move task step failed; retrying', { source, error: (error as Error).message });
          await sleep(Math.min(2_000, 100 * failures));
        }
      }
    } finally {
      await this.release(source).catch(() => {});
      this.driving.delete(source);
      // A task started (or cancelled) while this driver was ending gets a driver now.
      if (this.again.delete(source)) void this.drive(source);
    }
  }

  /**
   * Every checkpointIntervalMs (and before a long pause): claims the task (or leaves it to the instance that drives it),
   * saves what was moved since the last save, and ends a task whose cancel was asked for.
   * Answers undefined when there is nothing (more) for this driver to do.
   */
  private async checkpoint(source: string, state: DriverState | undefined, force = false): Promise<DriverState | undefined> {
    const now = Date.now();
    if (state && !(force && state.unsaved > 0) && now - state.checkpointAt < MOVE_TASK_DEFAULTS.checkpointIntervalMs) return state;
    const taskId = state?.taskId ?? (await this.activeTaskId(source));
    if (taskId === undefined) return undefined;
    if (!(await this.claim(source, taskId))) return undefined;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.readTask(source, taskId);
      if (!current || !isActive(current.value.status)) {
        await this.clearStaleActive(source, taskId);
        return undefined;
      }
      const next: DriverState = { ...(state ?? { taskId, pacer: startPacer(now), unsaved: 0, checkpointAt: now }), task: current.value };
      if (current.value.status === 'CANCELLING') {
        await this.finish(source, next, { kind: 'cancelSeen' });
        return undefined;
      }
      if (next.unsaved > 0) {
        try {
          await this.zkCall('save move progress', (c) => zk.zkSetData(c, this.taskPath(source, taskId), encode(recordProgress(current.value, next.unsaved, now)), current.version));
        } catch (error) {
          if (zk.zkErrorKind(error) === 'badVersion') continue; // a cancel came in: read it
          throw error;
        }
      }
      return { ...next, unsaved: 0, checkpointAt: now };
    }
    throw new Error(`move task ${taskId} kept changing`);
  }

  /** Removes an `active` marker that names a finished or missing task (only by hand can one be left). */
  private async clearStaleActive(source: string, taskId: string): Promise<void> {
    try {
      const { data, stat } = await this.zkCall('read active move task', (c) => zk.zkGetData(c, this.activePath(source)));
      if (decode<{ taskId: string }>(data).taskId === taskId) await this.zkCall('clear stale active marker', (c) => zk.zkRemove(c, this.activePath(source), stat.version));
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode' && zk.zkErrorKind(error) !== 'badVersion') throw error;
    }
  }

  /** Holds the ephemeral driver marker; false when another instance drives the task. */
  private async claim(source: string, taskId: string): Promise<boolean> {
    const data = encode({ instance: this.instance, taskId });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.zkCall('claim move task', (c) => zk.zkCreate(c, this.driverPath(source), data, zk.CreateMode.EPHEMERAL));
        return true;
      } catch (error) {
        if (zk.zkErrorKind(error) !== 'nodeExists') throw error;
      }
      try {
        const { data: held } = await this.zkCall('read move task driver', (c) => zk.zkGetData(c, this.driverPath(source)));
        return decode<{ instance: string }>(held).instance === this.instance;
      } catch (error) {
        if (zk.zkErrorKind(error) !== 'noNode') throw error; // released meanwhile: claim again
      }
    }
    return false;
  }

  private async release(source: string): Promise<void> {
    const { data, stat } = await this.zkCall('read move task driver', (c) => zk.zkGetData(c, this.driverPath(source)));
    if (decode<{ instance: string }>(data).instance === this.instance) await this.zkCall('release move task', (c) => zk.zkRemove(c, this.driverPath(source), stat.version));
  }

  /** Writes the task's final state and drops its `active` marker in one multi-op. */
  private async finish(source: string, state: DriverState, outcome: MoveOutcome): Promise<void> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.readTask(source, state.taskId);
      if (!current || !isActive(current.value.status)) return;
      const now = Date.now();
      const done = finishTask(recordProgress(current.value, state.unsaved, now), outcome, now);
      try {
        await this.commit('finish move task', (tx) => tx.setData(this.taskPath(source, state.taskId), encode(done), current.version).remove(this.activePath(source)));
      } catch (error) {
        if (zk.zkErrorKind(error) === 'badVersion') continue;
        if (zk.zkErrorKind(error) !== 'noNode') throw error;
        // No active marker (removed by hand): the task's own state is what matters.
        await this.zkCall('finish move task', (c) => zk.zkSetData(c, this.taskPath(source, state.taskId), encode(done), current.version));
      }
      state.unsaved = 0;
      this.options.log('move task finished', { task: done.taskId, source: done.sourceArn, status: done.status, moved: done.moved, reason: done.failureReason });
      return;
    }
    throw new Error(`move task ${state.taskId} kept changing`);
  }

  /** One batch: pace, receive, send on, delete. True when the task has ended. */
  private async step(source: string, state: DriverState): Promise<boolean> {
    const task = state.task;
    const rate = effectiveRate(task);
    const { waitMs, maxMessages } = paceBatch(state.pacer, Date.now(), rate);
    if (waitMs > 0) await sleep(waitMs);
    const startedAt = Date.now();
    const sourceQueue = this.options.cache.queues.get(source)?.value;
    if (!sourceQueue || sourceQueue.arn !== task.sourceArn) {
      await this.finish(source, state, { kind: 'failed', reason: DESTINATION_GONE });
      return true;
    }
    const from = this.options.backend(sourceQueue.clusterId);
    const { messages } = await from.call('ReceiveMessage', { queue: source, maxMessages, visibilityTimeoutSeconds: MOVE_TASK_DEFAULTS.receiveVisibilitySeconds, waitTimeSeconds: 0 });
    if (messages.length === 0) {
      const { counts } = await from.call('GetQueue', { queue: source });
      if (counts.visible === 0) {
        await this.finish(source, state, { kind: 'sourceEmpty' });
        return true;
      }
      await sleep(100); // visible but not received (e.g. FIFO groups held by consumers)
      return false;
    }
    state.pacer = chargePacer(state.pacer, startedAt, messages.length, rate);
    const plan = planBatch(task, messages);
    if ('failure' in plan) {
      await this.returnToSource(from, source, messages);
      await this.finish(source, state, { kind: 'failed', reason: plan.failure });
      return true;
    }
    // Back to their sources: only to sources the task's caller may send to (checked before any is sent).
    if (refusedDestination(task, plan.batches.keys(), (caller, arn) => this.maySend(caller, arn))) {
      await this.returnToSource(from, source, messages);
      await this.finish(source, state, { kind: 'failed', reason: DESTINATION_GONE });
      return true;
    }
    for (const [arn, batch] of plan.batches) {
      const failure = await this.sendOn(from, source, arn, batch, state);
      if (failure) {
        await this.returnToSource(from, source, [...plan.batches.values()].flat());
        await this.finish(source, state, { kind: 'failed', reason: failure });
        return true;
      }
    }
    return false;
  }

  /** May `caller` send to the queue with this ARN (its owner and Policy decide)? A missing queue is left to sendOn. */
  private maySend(caller: string, arn: string): boolean {
    const queue = this.queueByArn(arn);
    return !queue || isAllowed(queue.owner, queue.extraAttributes.Policy, { account: caller, action: 'SendMessage', resource: queue.arn });
  }

  /**
   * Sends one destination's messages, then deletes them from the source (send first: a crash in
   * between duplicates, never loses). Answers a failure reason when the task cannot go on.
   */
  private async sendOn(from: NativeClient, source: string, arn: string, messages: NativeReceivedMessage[], state: DriverState): Promise<string | undefined> {
    const destination = this.queueByArn(arn);
    if (!destination) return DESTINATION_GONE;
    if (destination.move && destination.config.fifo) throw new Error(`FIFO destination ${destination.id} is moving between clusters; waiting for the move to end`);
    const clusterId = destination.move ? destination.move.to : destination.clusterId;
    let sent;
    try {
      sent = await this.options.backend(clusterId).call('SendMessageBatch', { queue: destination.id, entries: messages.map((m, i) => redriveEntry(m, `m${i}`, destination.config.fifo)) });
    } catch (error) {
      if (!isConveyorError(error, 'QueueDoesNotExist')) throw error;
      await this.options.cache.refreshQueueNow(destination.id); // the cache may not have seen the delete yet
      if (!this.queueByArn(arn)) return DESTINATION_GONE;
      throw error;
    }
    const done = sent.successful.map((s) => messages[Number(s.id.slice(1))]!);
    if (done.length > 0) {
      const deleted = await from.call('DeleteMessageBatch', { queue: source, entries: done.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
      state.unsaved += deleted.successful.length;
    }
    const refused = sent.failed[0];
    if (refused) {
      const rest = sent.failed.map((f) => messages[Number(f.id.slice(1))]!);
      await this.returnToSource(from, source, rest);
      // A message the destination will never take (too large for it, say) ends the task; anything else is retried.
      if (refused.senderFault) return refused.code;
      throw new Error(`the destination refused ${sent.failed.length} messages: ${refused.message}`);
    }
    return undefined;
  }

  /** Makes received messages visible again at once (best effort: otherwise they return after their visibility). */
  private async returnToSource(from: NativeClient, source: string, messages: NativeReceivedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await from
      .call('ChangeMessageVisibilityBatch', { queue: source, entries: messages.map((m, i) => ({ id: `v${i}`, receiptHandle: m.receiptHandle, visibilityTimeoutSeconds: 0 })) })
      .catch(() => {});
  }
}
