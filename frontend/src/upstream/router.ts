/**
 * Routes queue operations to the backend cluster that holds the queue, through its leader:
 * queue → cluster from the metadata cache, cluster → nodes (leader first) from the cluster view,
 * keep-alive NativeClients per cluster (which follow NotLeader and refused connections): one for
 * long polls and one for everything else, so requests never queue for a connection behind long
 * polls parked at the leader.
 * During a move, sends go to the new cluster (FIFO: not until the move ends), receives try the
 * old one first, and receipt handles say which cluster issued them.
 */
import { ConveyorError, NativeClient, isConveyorError, isLongPoll, type NativeAction, type NativeActions } from '@conveyor/client-sdk';
import { LIMITS, MAX_NATIVE_BATCH, checkBatchEntries, checkSendBatch, type NativeBatchFailure, type NativeReceivedMessage } from '@conveyor/client-sdk/wire';
import { Coalescer, mergeBatchCalls, mergeReceives, type CoalescerOptions } from './coalescer.ts';
import type { MetadataClient, QueueRoute } from './metadata-client.ts';
import type { UpstreamMetrics } from './upstream-metrics.ts';

/** How long one request may spend re-routing (moves, failovers) before it gives up. */
const ROUTE_DEADLINE_MS = 15_000;

export interface RouterOptions {
  /**
   * Connections per cluster for requests other than long polls (default 128). Many in flight
   * make the leader's group commits large, which is what makes them cheap.
   */
  connections?: number;
  /** Connections per cluster for long polls, each parked on one (default 20,000, the frontend's default bound on parked long polls). */
  longPollConnections?: number;
  /**
   * Calls out at once per queue and cluster, for batch calls (sends, deletes, visibility
   * changes) and for standard queues' receives, before further ones wait and are merged into one
   * call (default 1; 0 turns merging off).
   */
  batchCallsInFlight?: number;
}

/** The map's coalescer under `key`, made by `make` if there is none; it leaves the map once idle. */
function coalescerFor<R, A>(map: Map<string, Coalescer<R, A>>, key: string, make: () => (requests: R[]) => Promise<A[]>, options: CoalescerOptions): Coalescer<R, A> {
  let coalescer = map.get(key);
  if (!coalescer) {
    const created: Coalescer<R, A> = new Coalescer(make(), options, () => {
      if (map.get(key) === created) map.delete(key);
    });
    coalescer = created;
    map.set(key, coalescer);
  }
  return coalescer;
}

/** The batch actions whose calls to one queue are merged under load. */
type BatchAction = 'SendMessageBatch' | 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch';
const ENTRY_NAMES: Record<BatchAction, string> = {
  SendMessageBatch: 'SendMessageBatchRequestEntry',
  DeleteMessageBatch: 'DeleteMessageBatchRequestEntry',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibilityBatchRequestEntry',
};
interface BatchRequest {
  queue: string;
  entries: Array<{ id: string }>;
  maxEntries?: number;
}
type BatchResponse = { successful: Array<{ id: string }>; failed: NativeBatchFailure[] };
/** A merged call stops taking batches at this size (1 KiB messages fill its 1,000 entries first). */
const MERGED_CALL_BYTES = 4 * 1024 * 1024;

function isBatchAction(action: NativeAction): action is BatchAction {
  return action in ENTRY_NAMES;
}

/** Only plain batch requests merge: the queue, entries that are objects, and at most a maxEntries. */
function isMergeable(body: unknown): body is BatchRequest {
  if (typeof body !== 'object' || body === null) return false;
  for (const key of Object.keys(body)) if (key !== 'queue' && key !== 'entries' && key !== 'maxEntries') return false;
  const { queue, entries, maxEntries } = body as Partial<Record<string, unknown>>;
  return typeof queue === 'string' && Array.isArray(entries) && entries.every((e) => typeof e === 'object' && e !== null) && (maxEntries === undefined || typeof maxEntries === 'number');
}

interface ClusterClients {
  key: string;
  requests: NativeClient;
  longPolls: NativeClient;
}

export class Router {
  private readonly clients = new Map<string, ClusterClients>();
  /** Per cluster, action and queue (and visibility timeout, for receives) while calls are out; dropped when idle. */
  private readonly batchCoalescers = new Map<string, Coalescer<ReadonlyArray<{ id: string }>, BatchResponse>>();
  private readonly receiveCoalescers = new Map<string, Coalescer<number, NativeReceivedMessage[]>>();
  /** Queues (per cluster) whose last receive came back full: long polls there merge first. */
  private readonly backlogged = new Set<string>();

  constructor(readonly metadata: MetadataClient, private readonly metrics?: UpstreamMetrics, private readonly options: RouterOptions = {}) {}

  /** The cluster's client for long polls (`longPoll`) or for everything else. */
  async client(clusterId: string, refresh = false, longPoll = false): Promise<NativeClient> {
    const nodes = await this.metadata.cluster(clusterId, refresh);
    const key = nodes.addresses.join(',');
    let clients = this.clients.get(clusterId);
    if (!clients || clients.key !== key) {
      if (clients) void Promise.all([clients.requests.close(), clients.longPolls.close()]);
      const common = { nodes: nodes.addresses, deadlineMs: 10_000, requestTimeoutMs: 25_000 };
      clients = {
        key,
        requests: new NativeClient({ ...common, connections: this.options.connections ?? 128 }),
        longPolls: new NativeClient({ ...common, connections: this.options.longPollConnections ?? 20_000 }),
      };
      this.clients.set(clusterId, clients);
    }
    return longPoll ? clients.longPolls : clients.requests;
  }

  /** Runs `fn` against the queue's current route, refreshing it after routing failures, to a deadline. */
  async withRoute<T>(queue: string, fn: (route: QueueRoute) => Promise<T>): Promise<T> {
    const deadline = Date.now() + ROUTE_DEADLINE_MS;
    let refresh = false;
    for (let attempt = 0; ; attempt++) {
      const route = await this.metadata.queue(queue, refresh);
      try {
        return await fn(route);
      } catch (error) {
        const rerouted = isConveyorError(error) && (error.code === 'QueueMoved' || error.code === 'NotLeader' || (error.code === 'ServiceUnavailable' && !!route.move));
        // A queue the metadata service knows but its cluster does not: it is being created or moved.
        const missing = isConveyorError(error, 'QueueDoesNotExist');
        if ((!rerouted && !missing) || Date.now() > deadline) throw error;
        if (missing && attempt > 0) throw error;
        refresh = true;
        await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /** The cluster that takes sends for a queue now. */
  sendTarget(route: QueueRoute): string {
    if (!route.move) return route.clusterId;
    if (route.config.fifo) throw new ConveyorError('ServiceUnavailable', `FIFO queue ${route.name} is moving to another cluster; try again shortly.`, { queue: route.name });
    return route.move.to;
  }

  /** The clusters to receive from, in order. */
  receiveSources(route: QueueRoute): string[] {
    return route.move ? [route.clusterId, route.move.to] : [route.clusterId];
  }

  async call<A extends NativeAction>(clusterId: string, action: A, body: NativeActions[A]['request'], signal?: AbortSignal): Promise<NativeActions[A]['response']> {
    const inFlight = this.options.batchCallsInFlight ?? 1;
    if (inFlight > 0 && signal === undefined && isBatchAction(action) && isMergeable(body)) {
      return this.coalesced(clusterId, action, body, inFlight) as Promise<NativeActions[A]['response']>;
    }
    return this.direct(clusterId, action, body, signal);
  }

  /**
   * A batch call through the queue's coalescer. Its batch-level rules are checked here first, so
   * a bad batch fails alone rather than the merged call it would have joined.
   */
  private coalesced(clusterId: string, action: BatchAction, body: BatchRequest, inFlight: number): Promise<BatchResponse> {
    const maxEntries = body.maxEntries ?? LIMITS.maxBatchEntries;
    let bytes = 0;
    if (action === 'SendMessageBatch') bytes = checkSendBatch(body.entries as NativeActions['SendMessageBatch']['request']['entries'], maxEntries);
    else checkBatchEntries(body.entries.map((e) => ({ Id: e.id })), ENTRY_NAMES[action], maxEntries);
    const key = `${clusterId}\u0000${action}\u0000${body.queue}`;
    const coalescer = coalescerFor(this.batchCoalescers, key, () =>
      // The rules were checked per batch above, so the call itself may take the native API's largest batch.
      mergeBatchCalls((entries: Array<{ id: string }>) => this.direct(clusterId, action, { queue: body.queue, entries, maxEntries: MAX_NATIVE_BATCH } as NativeActions[typeof action]['request']) as Promise<BatchResponse>),
      { maxInFlight: inFlight, maxEntries: MAX_NATIVE_BATCH, maxBytes: MERGED_CALL_BYTES },
    );
    return coalescer.submit(body.entries, { entries: body.entries.length, bytes });
  }

  /**
   * ReceiveMessage. On standard queues, receives without an attempt id go first through the
   * queue's coalescer, as short polls merged under load (FIFO's group locks must not be split
   * between callers); a long poll that got nothing there then waits at the leader. Long polls
   * merge only while the queue shows a backlog (its last receive came back full). Receives merge
   * only with receives of the same visibility timeout and system-attribute choice.
   */
  async receive(clusterId: string, body: NativeActions['ReceiveMessage']['request'], signal: AbortSignal | undefined, fifo: boolean): Promise<NativeActions['ReceiveMessage']['response']> {
    const inFlight = this.options.batchCallsInFlight ?? 1;
    const max = body.maxMessages ?? 1;
    const plain = Number.isInteger(max) && max >= 1 && max <= MAX_NATIVE_BATCH && body.attemptId === undefined;
    if (fifo || inFlight === 0 || !plain) return this.call(clusterId, 'ReceiveMessage', body, signal);
    const { queue, visibilityTimeoutSeconds } = body;
    // A long poll on a queue that looked drained goes straight to the leader: a merged short poll
    // first would mostly come back empty and cost a call. A full answer shows a backlog again.
    const backlogKey = `${clusterId}\u0000${queue}`;
    if (body.waitTimeSeconds !== 0 && !this.backlogged.has(backlogKey)) {
      const answer = await this.call(clusterId, 'ReceiveMessage', body, signal);
      if (answer.messages.length >= max) this.noteBacklog(backlogKey, true);
      return answer;
    }
    const systemAttributes = body.systemAttributes !== false;
    const key = `${clusterId}\u0000${queue}\u0000${visibilityTimeoutSeconds ?? ''}\u0000${systemAttributes}`;
    const coalescer = coalescerFor(this.receiveCoalescers, key, () =>
      mergeReceives(async (max: number) => (await this.direct(clusterId, 'ReceiveMessage', { queue, maxMessages: max, visibilityTimeoutSeconds, waitTimeSeconds: 0, systemAttributes })).messages),
      { maxInFlight: inFlight, maxEntries: MAX_NATIVE_BATCH, maxBytes: Number.POSITIVE_INFINITY },
    );
    const messages = await coalescer.submit(max, { entries: max, bytes: 0 });
    // Fewer than asked for: the merged receive emptied the queue.
    if (messages.length < max) this.noteBacklog(backlogKey, false);
    if (messages.length > 0 || body.waitTimeSeconds === 0 || signal?.aborted) return { messages };
    return this.call(clusterId, 'ReceiveMessage', body, signal);
  }

  private noteBacklog(key: string, backlogged: boolean): void {
    if (!backlogged) this.backlogged.delete(key);
    else {
      if (this.backlogged.size >= 10_000) this.backlogged.clear(); // bounded, whatever queues come and go
      this.backlogged.add(key);
    }
  }

  private async direct<A extends NativeAction>(clusterId: string, action: A, body: NativeActions[A]['request'], signal?: AbortSignal): Promise<NativeActions[A]['response']> {
    const started = performance.now();
    try {
      const response = await (await this.client(clusterId, false, isLongPoll(action, body))).call(action, body, signal);
      this.metrics?.backendCall(action, (performance.now() - started) / 1000, true);
      this.countMessages(action, body, response);
      return response;
    } catch (error) {
      this.metrics?.backendCall(action, (performance.now() - started) / 1000, false);
      throw error;
    }
  }

  /** Messages (not calls) per queue: what the backend accepted, delivered or deleted. */
  private countMessages(action: NativeAction, body: unknown, response: unknown): void {
    const queue = (body as { queue?: unknown }).queue;
    if (!this.metrics || typeof queue !== 'string') return;
    if (action === 'SendMessageBatch') this.metrics.messages(queue, 'sent', (response as NativeActions['SendMessageBatch']['response']).successful.filter((s) => !s.duplicate).length);
    else if (action === 'ReceiveMessage') this.metrics.messages(queue, 'received', (response as NativeActions['ReceiveMessage']['response']).messages.length);
    else if (action === 'DeleteMessageBatch') this.metrics.messages(queue, 'deleted', (response as NativeActions['DeleteMessageBatch']['response']).successful.length);
  }

  async close(): Promise<void> {
    for (const { requests, longPolls } of this.clients.values()) await Promise.all([requests.close(), longPolls.close()]);
  }
}

/** Receipt handles handed to clients name the cluster that issued them: `<cluster>.<handle>`. */
export function wrapReceiptHandle(clusterId: string, handle: string): string {
  return `${clusterId}.${handle}`;
}

export function unwrapReceiptHandle(text: unknown): { clusterId: string; handle: string } | undefined {
  if (typeof text !== 'string') return undefined;
  const dot = text.indexOf('.');
  if (dot <= 0 || dot > 64) return undefined;
  const clusterId = text.slice(0, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(clusterId)) return undefined;
  return { clusterId, handle: text.slice(dot + 1) };
}
