/**
 * The metadata service: the queue registry in ZooKeeper (`<root>/queues/<name>`), placement of new
 * queues on backend clusters, and the cluster view. Reads come from the watched cache with the
 * znode version; writes go to ZooKeeper with compare-and-set and fail fast (503) while it is
 * unreachable. Creating or deleting a queue also creates or drops it on its backend cluster.
 */
import { ConveyorError, NativeClient, checkQueueId, formatQueueConfig, queueId, isConveyorError, type NativeQueueInfo } from '@conveyor/client-sdk';
import { zk, ZkSession } from '@conveyor/backend-node';
import { request } from 'undici';
import { attributeView, buildQueueRecord, checkTags, differingAttribute, paginate, withAttributes, type QueueRecord } from './core/queue-record.ts';
import { chooseCluster, type ClusterLoad } from './core/placement.ts';
import { RegistryCache, type Versioned } from './registry-cache.ts';
import { MoveTaskRunner } from './move-task-runner.ts';
import { addPermission, removePermission, type PermissionGrant } from './core/queue-policy.ts';
import { redriveAllows, redriveNotAllowed } from './core/redrive-allow-policy.ts';

export interface MetadataOptions {
  zookeeper: string;
  root: string;
  region: string;
  /** Account id used when a request names none. */
  defaultOwner: string;
  sessionTimeoutMs: number;
  /** SQS refuses to recreate a deleted name for 60 s; 0 (the default) allows it at once. */
  deletedRecentlyMs: number;
  log: (message: string, extra?: Record<string, unknown>) => void;
}

export interface QueueAnswer {
  queue: QueueRecord;
  version: number;
  stale: boolean;
}

export interface ClusterView {
  id: string;
  epoch: number | null;
  leader: string | null;
  isr: string[];
  /** `retired`: the node was drained (or removed) by an operator. */
  nodes: Array<{ id: string; address: string; live: boolean; lag?: number; inSync?: boolean; retired?: 'drained' | 'removed' }>;
  /** Counts by queue id (`<account>:<name>`). */
  queues: Record<string, { visible: number; inflight: number; delayed: number }>;
  reachable: boolean;
}

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const isQueueId = (id: string): boolean => {
  try {
    checkQueueId(id);
    return true;
  } catch {
    return false;
  }
};
const MAX_CAS_ATTEMPTS = 5;
/** Policy edits on one queue may come in bursts (a script granting many accounts): more tries, with jitter. */
const POLICY_EDIT_ATTEMPTS = 25;

export class MetadataService {
  readonly cache: RegistryCache;
  /** SQS's message move tasks (DLQ redrive): move-task-runner.ts. */
  readonly moveTasks: MoveTaskRunner;
  private readonly session: ZkSession;
  private readonly clients = new Map<string, { key: string; client: NativeClient }>();

  constructor(private readonly options: MetadataOptions) {
    // Writes fail fast when ZooKeeper is silent: a call waits at most 2 s (ZooKeeper answers in ms).
    this.session = new ZkSession({
      connectString: options.zookeeper,
      sessionTimeoutMs: options.sessionTimeoutMs,
      leaseMs: Math.floor(options.sessionTimeoutMs * 0.6),
      opTimeoutMs: Math.min(2_000, options.sessionTimeoutMs),
      log: options.log,
    });
    this.cache = new RegistryCache(this.session, options.root.replace(/\/+$/, ''), options.log);
    this.moveTasks = new MoveTaskRunner({ session: this.session, cache: this.cache, backend: (id) => this.backend(id), assertWritable: () => this.assertWritable(), log: options.log });
  }

  async start(): Promise<void> {
    await this.session.start();
    await this.cache.loaded;
    // Moves left unfinished by a previous run (of this or another instance) are driven on.
    for (const { value } of this.cache.queues.values()) if (value.move) void this.driveMove(value.id);
    this.moveTasks.start(); // and so are message move tasks
  }

  /** ZooKeeper is not answering, or the current session has not finished reading the registry. */
  get stale(): boolean {
    return !this.session.leaseValid() || !this.cache.current;
  }

  private assertWritable(): void {
    if (this.stale) throw new ConveyorError('ServiceUnavailable', 'ZooKeeper is unreachable: queue changes are refused until it answers again (reads are served from cache).');
  }

  // ---------------------------------------------------------------- reads

  /**
   * The registry key of a queue named by the API: `<account>:<name>`, or a bare name for the
   * default owner's queue (operators' tools and old callers name no account).
   */
  idOf(key: string): string {
    return key.includes(':') ? key : queueId(this.options.defaultOwner, key);
  }

  getQueue(key: string): QueueAnswer {
    const name = this.idOf(key);
    const entry = this.cache.queues.get(name);
    if (!entry && !this.cache.everLoaded) throw new ConveyorError('ServiceUnavailable', 'The queue registry has not been read from ZooKeeper yet; try again.', { queue: name });
    if (!entry) throw new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue: name });
    return { queue: entry.value, version: entry.version, stale: this.stale };
  }

  /** One account's queue names (the default owner's when none is named). */
  listQueues(prefix: string, maxResults: number | undefined, nextToken: string | undefined, owner = this.options.defaultOwner): { names: string[]; nextToken?: string; stale: boolean } {
    const names = [...this.cache.queues.values()]
      .map((e) => e.value)
      .filter((q) => q.name.startsWith(prefix) && q.owner === owner)
      .map((q) => q.name)
      .sort();
    return { ...paginate(names, maxResults, nextToken), stale: this.stale };
  }

  /**
   * The ids (`<account>:<name>`) of the queues whose redrive policy names this one; only `owner`'s
   * when named, filtered before paging so MaxResults and NextToken count what the caller sees.
   */
  deadLetterSources(key: string, maxResults: number | undefined, nextToken: string | undefined, owner?: string): { names: string[]; nextToken?: string } {
    const { queue } = this.getQueue(key);
    const ids = [...this.cache.queues.values()]
      .map((e) => e.value)
      .filter((q) => q.config.redrive?.deadLetterQueue === queue.id && (owner === undefined || q.owner === owner))
      .map((q) => q.id)
      .sort();
    return paginate(ids, maxResults, nextToken);
  }

  /** GetQueueAttributes `All`, with counters from the queue's backend leader. */
  async queueAttributes(key: string): Promise<Record<string, string>> {
    const { queue } = this.getQueue(key);
    // Counters come from the backend; if it cannot answer, say so rather than report an empty queue.
    const info = await this.backend(queue.clusterId)
      .call('GetQueue', { queue: queue.id })
      .catch((error: unknown): NativeQueueInfo | undefined => {
        if (isConveyorError(error, 'QueueDoesNotExist')) return undefined; // not created there yet: nothing in it
        if (isConveyorError(error)) throw error;
        throw new ConveyorError('ServiceUnavailable', `Backend cluster ${queue.clusterId} did not answer: ${(error as Error).message}`, { cluster: queue.clusterId });
      });
    return attributeView(queue, info?.counts);
  }

  // ---------------------------------------------------------------- writes

  private queuePath(name: string): string {
    return `${this.cache.queuesPath}/${name}`;
  }

  private async readQueue(name: string): Promise<Versioned<QueueRecord> | undefined> {
    // A name that is not a queue name names no queue; it must not become a znode path either
    // ('../x' would make ZooKeeper refuse the path, which read as a retryable 503).
    if (!isQueueId(name)) return undefined;
    try {
      const { data, stat } = await zk.withTimeout(zk.zkGetData(this.session.client, this.queuePath(name)), this.session.opTimeoutMs, 'read queue');
      this.session.touch();
      return { value: JSON.parse(data!.toString('utf8')) as QueueRecord, version: stat.version };
    } catch (error) {
      if (zk.zkErrorKind(error) === 'noNode') return undefined;
      throw this.unavailable(error);
    }
  }

  private unavailable(error: unknown): Error {
    if (isConveyorError(error)) return error;
    return new ConveyorError('ServiceUnavailable', `ZooKeeper did not complete the change: ${(error as Error).message}`, {}, { cause: error });
  }

  /** CreateQueue: idempotent for equal attributes; QueueNameExists for different ones. */
  async createQueue(input: { name: string; attributes?: Record<string, string>; tags?: Record<string, string>; owner?: string }): Promise<QueueAnswer & { created: boolean }> {
    this.assertWritable();
    const now = Date.now();
    const owner = input.owner ?? this.options.defaultOwner;
    // Validate everything before choosing a cluster or touching ZooKeeper.
    const draft = buildQueueRecord({ name: input.name, attributes: input.attributes ?? {}, tags: input.tags ?? {}, owner, region: this.options.region, clusterId: '-', now });
    const existing = await this.readQueue(draft.id);
    const named = Object.keys(input.attributes ?? {});
    if (existing) return { ...(await this.sameOrConflict(existing, draft, named)), created: false };
    await this.checkDeletedRecently(draft.id, now);
    const clusterId = this.placeFor(draft);
    const record: QueueRecord = { ...draft, clusterId };
    try {
      await zk.withTimeout(zk.zkCreate(this.session.client, this.queuePath(record.id), encode(record), zk.CreateMode.PERSISTENT), this.session.opTimeoutMs, 'create queue');
      this.session.touch();
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'nodeExists') throw this.unavailable(error);
      const raced = await this.readQueue(record.id);
      if (!raced) throw new ConveyorError('ServiceUnavailable', 'The queue changed while it was being created; try again.');
      return { ...(await this.sameOrConflict(raced, draft, named)), created: false };
    }
    await this.cache.refreshQueueNow(record.id);
    await this.ensureOnBackend(record);
    const entry = this.cache.queues.get(record.id);
    return { queue: entry?.value ?? record, version: entry?.version ?? 0, stale: false, created: true };
  }

  private async sameOrConflict(existing: Versioned<QueueRecord>, requested: QueueRecord, named: readonly string[]): Promise<QueueAnswer> {
    const differs = differingAttribute(existing.value, requested, named);
    if (differs) throw new ConveyorError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${differs}`, { queue: requested.name, attribute: differs });
    await this.ensureOnBackend(existing.value); // a retry completes a creation that failed half-way
    return { queue: existing.value, version: existing.version, stale: false };
  }

  private async checkDeletedRecently(name: string, now: number): Promise<void> {
    if (this.options.deletedRecentlyMs <= 0) return;
    try {
      const { data } = await zk.withTimeout(zk.zkGetData(this.session.client, `${this.cache.deletedPath}/${name}`), this.session.opTimeoutMs, 'read deleted');
      const deletedAt = (JSON.parse(data!.toString('utf8')) as { deletedAt: number }).deletedAt;
      if (now - deletedAt < this.options.deletedRecentlyMs) {
        throw new ConveyorError('QueueDeletedRecently', `You must wait ${Math.ceil(this.options.deletedRecentlyMs / 1000)} seconds after deleting a queue before you can create another with the same name.`, { queue: name });
      }
    } catch (error) {
      if (isConveyorError(error)) throw error;
      if (zk.zkErrorKind(error) !== 'noNode') throw this.unavailable(error);
    }
  }

  /** A queue with a dead-letter queue goes where its DLQ is (redrive moves messages inside one cluster). */
  private placeFor(record: QueueRecord): string {
    const dlq = record.config.redrive?.deadLetterQueue;
    if (dlq) {
      const target = this.cache.queues.get(dlq);
      if (!target) throw new ConveyorError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy. Reason: Dead letter target does not exist.', { attribute: 'RedrivePolicy' });
      if (!redriveAllows(target.value.extraAttributes.RedriveAllowPolicy, record.arn)) throw redriveNotAllowed(target.value.arn);
      return target.value.clusterId;
    }
    const chosen = chooseCluster(this.clusterLoads());
    if (!chosen) throw new ConveyorError('ServiceUnavailable', 'No backend cluster has a leader right now; the queue cannot be placed.');
    return chosen;
  }

  clusterLoads(): ClusterLoad[] {
    const counts = new Map<string, number>();
    for (const { value } of this.cache.queues.values()) counts.set(value.clusterId, (counts.get(value.clusterId) ?? 0) + 1);
    return [...this.cache.clusters.values()].map((c) => ({
      id: c.id,
      available: !!c.state?.leader && c.nodes.has(c.state.leader),
      queueCount: counts.get(c.id) ?? 0,
      backlog: this.backlogs.get(c.id) ?? 0,
    }));
  }

  /** Backlogs reported by each cluster's leader (refreshed by clusterView()). */
  private readonly backlogs = new Map<string, number>();

  async setQueueAttributes(key: string, attributes: Record<string, string>): Promise<QueueAnswer> {
    const name = this.idOf(key);
    const answer = await this.update(name, (record) => {
      const next = withAttributes(record, attributes, Date.now());
      const dlq = next.config.redrive?.deadLetterQueue;
      // The dead-letter queue's RedriveAllowPolicy is checked whenever a RedrivePolicy is set, as SQS does.
      const named = dlq && attributes.RedrivePolicy ? this.cache.queues.get(dlq)?.value : undefined;
      if (named && !redriveAllows(named.extraAttributes.RedriveAllowPolicy, record.arn)) throw redriveNotAllowed(named.arn);
      if (dlq && dlq !== record.config.redrive?.deadLetterQueue) {
        const target = this.cache.queues.get(dlq);
        if (!target) throw new ConveyorError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy. Reason: Dead letter target does not exist.', { attribute: 'RedrivePolicy' });
        if (target.value.clusterId !== record.clusterId) {
          throw new ConveyorError('InvalidAttributeValue', `Invalid value for the parameter RedrivePolicy. Reason: the dead-letter queue ${dlq} is on cluster ${target.value.clusterId}, this queue on ${record.clusterId}; move one of them first.`, { attribute: 'RedrivePolicy' });
        }
      }
      return next;
    });
    await this.backend(answer.queue.clusterId).call('SetQueueAttributes', { queue: name, attributes });
    return answer;
  }

  async tagQueue(key: string, tags: Record<string, string>): Promise<QueueAnswer> {
    const add = checkTags(tags);
    return this.update(this.idOf(key), (record) => {
      const merged = { ...record.tags, ...add };
      if (Object.keys(merged).length > 50) throw new ConveyorError('InvalidParameterValue', 'Too many tags: at most 50 per queue.', { parameter: 'Tags' });
      return { ...record, tags: merged };
    });
  }

  async untagQueue(key: string, keys: string[]): Promise<QueueAnswer> {
    const name = this.idOf(key);
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw new ConveyorError('InvalidParameterValue', 'TagKeys must be a list of strings.', { parameter: 'TagKeys' });
    return this.update(name, (record) => ({ ...record, tags: Object.fromEntries(Object.entries(record.tags).filter(([k]) => !keys.includes(k))) }));
  }

  /**
   * AddPermission: one more labelled Allow statement in the queue's Policy, edited under
   * compare-and-set, so concurrent grants on one queue all survive.
   */
  async addPermission(key: string, grant: PermissionGrant): Promise<QueueAnswer> {
    return this.update(this.idOf(key), (record) => withAttributes(record, { Policy: addPermission(record.extraAttributes.Policy, record.arn, grant) }, Date.now()), POLICY_EDIT_ATTEMPTS);
  }

  /** RemovePermission: the Policy without the statement of that label, under compare-and-set. */
  async removePermission(key: string, label: string): Promise<QueueAnswer> {
    return this.update(this.idOf(key), (record) => withAttributes(record, { Policy: removePermission(record.extraAttributes.Policy, label) }, Date.now()), POLICY_EDIT_ATTEMPTS);
  }

  /** Read, change, compare-and-set; retried (after a short random pause) when another writer got there first. */
  private async update(name: string, change: (record: QueueRecord) => QueueRecord, attempts = MAX_CAS_ATTEMPTS): Promise<QueueAnswer> {
    this.assertWritable();
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      const current = await this.readQueue(name);
      if (!current) throw new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue: name });
      const next = change(current.value);
      try {
        const stat = await zk.withTimeout(zk.zkSetData(this.session.client, this.queuePath(name), encode(next), current.version), this.session.opTimeoutMs, 'update queue');
        this.session.touch();
        await this.cache.refreshQueueNow(name);
        return { queue: next, version: stat.version, stale: false };
      } catch (error) {
        if (zk.zkErrorKind(error) !== 'badVersion') throw this.unavailable(error);
      }
    }
    throw new ConveyorError('ServiceUnavailable', `Queue ${name} kept changing; try again.`, { queue: name });
  }

  /** DeleteQueue: drops the data on the backend first, then the record (a retry finishes either half). */
  async deleteQueue(key: string): Promise<void> {
    const name = this.idOf(key);
    this.assertWritable();
    const current = await this.readQueue(name);
    if (!current) throw new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue: name });
    try {
      await this.backend(current.value.clusterId).call('DeleteQueue', { queue: name });
    } catch (error) {
      if (!isConveyorError(error, 'QueueDoesNotExist')) throw error;
    }
    try {
      await zk.withTimeout(zk.zkRemove(this.session.client, this.queuePath(name)), this.session.opTimeoutMs, 'delete queue');
      this.session.touch();
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw this.unavailable(error);
    }
    if (this.options.deletedRecentlyMs > 0) {
      const path = `${this.cache.deletedPath}/${name}`;
      const data = encode({ deletedAt: Date.now() });
      await zk.withTimeout(zk.zkCreate(this.session.client, path, data, zk.CreateMode.PERSISTENT), this.session.opTimeoutMs, 'mark deleted').catch(async (error: unknown) => {
        if (zk.zkErrorKind(error) === 'nodeExists') await zk.withTimeout(zk.zkSetData(this.session.client, path, data, -1), this.session.opTimeoutMs, 'mark deleted');
      });
    }
    await this.cache.refreshQueueNow(name);
  }

  // ---------------------------------------------------------------- moves (drain-and-switch)

  /**
   * Moves a queue to another cluster: records the move, creates the queue there, seals it on the
   * old cluster (sends are refused with QueueMoved and go to the new one), moves what the old one
   * still holds (receive → send → delete, so a crash can duplicate but not lose), and switches the
   * record once the old queue is empty. Queues tied by a redrive policy cannot move alone.
   */
  async moveQueue(key: string, to: string): Promise<QueueAnswer> {
    const name = this.idOf(key);
    const { queue } = this.getQueue(name);
    if (queue.move) {
      if (queue.move.to !== to) throw new ConveyorError('InvalidParameterValue', `Queue ${name} is already moving to ${queue.move.to}.`, { queue: name });
    } else {
      if (queue.clusterId === to) throw new ConveyorError('InvalidParameterValue', `Queue ${name} is already on cluster ${to}.`, { queue: name });
      const target = this.clusterLoads().find((c) => c.id === to);
      if (!target) throw new ConveyorError('InvalidParameterValue', `Cluster ${to} does not exist.`, { cluster: to });
      if (!target.available) throw new ConveyorError('ServiceUnavailable', `Cluster ${to} has no leader right now.`, { cluster: to });
      const tied = queue.config.redrive !== undefined || [...this.cache.queues.values()].some((e) => e.value.config.redrive?.deadLetterQueue === name);
      if (tied) throw new ConveyorError('InvalidParameterValue', `Queue ${name} is tied to another queue by a redrive policy; remove the policy before moving it.`, { queue: name });
    }
    const answer = queue.move ? this.getQueue(name) : await this.update(name, (r) => (r.move ? r : { ...r, move: { to, startedAt: Date.now() } }));
    void this.driveMove(name);
    return answer;
  }

  private readonly moving = new Set<string>();

  /** Runs a recorded move to its end; one driver per queue in this process (another instance may drive it too: harmless). */
  private async driveMove(name: string): Promise<void> {
    if (this.moving.has(name) || this.closed) return;
    this.moving.add(name);
    try {
      // Bounded by the service's life: each pass moves messages or waits for in-flight ones to come back.
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          if (await this.moveStep(name)) return;
        } catch (error) {
          this.options.log('queue move step failed; retrying', { queue: name, error: (error as Error).message });
          await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * (attempt + 1))));
        }
      }
    } finally {
      this.moving.delete(name);
    }
  }

  /** One step of a move; true when the move is over. */
  private async moveStep(name: string): Promise<boolean> {
    const current = await this.readQueue(name);
    if (!current?.value.move) return true;
    const record = current.value;
    const from = this.backend(record.clusterId);
    const to = this.backend(record.move!.to);
    await to.call('CreateQueue', { queue: name, attributes: formatQueueConfig(record.config), arn: record.arn });
    await from.call('SealQueue', { queue: name, movedTo: record.move!.to });
    for (;;) {
      const { messages } = await from.call('ReceiveMessage', { queue: name, maxMessages: 10, visibilityTimeoutSeconds: 120, waitTimeSeconds: 0 });
      if (messages.length === 0) break;
      const sent = await to.call('SendMessageBatch', {
        queue: name,
        entries: messages.map((m, i) => ({
          id: `m${i}`,
          body: m.body,
          attributes: m.attributes,
          groupId: m.systemAttributes.MessageGroupId,
          dedupId: record.config.fifo ? m.systemAttributes.MessageDeduplicationId : undefined,
        })),
      });
      const done = sent.successful.map((s) => messages[Number(s.id.slice(1))]!);
      if (done.length > 0) await from.call('DeleteMessageBatch', { queue: name, entries: done.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
      if (sent.failed.length > 0) throw new Error(`the target refused ${sent.failed.length} messages: ${sent.failed[0]!.message}`);
    }
    const left = await from.call('GetQueue', { queue: name });
    if (left.counts.visible + left.counts.inflight + left.counts.delayed > 0) {
      // Messages in consumers' hands come back when their visibility ends (or are deleted).
      await new Promise((r) => setTimeout(r, 250));
      return false;
    }
    await this.update(name, (r) => (r.move ? { ...r, clusterId: r.move.to, move: undefined, lastModifiedAt: Date.now() } : r));
    await from.call('DeleteQueue', { queue: name }).catch(() => {});
    this.options.log('queue moved', { queue: name, from: record.clusterId, to: record.move!.to });
    return true;
  }

  // ---------------------------------------------------------------- backends

  private backend(clusterId: string): NativeClient {
    const cluster = this.cache.clusters.get(clusterId);
    if (!cluster || cluster.nodes.size === 0) throw new ConveyorError('ServiceUnavailable', `Backend cluster ${clusterId} has no live nodes.`, { cluster: clusterId });
    const leader = cluster.state?.leader ? cluster.nodes.get(cluster.state.leader)?.address : undefined;
    const addresses = [...new Set([...(leader ? [leader] : []), ...[...cluster.nodes.values()].map((n) => n.address)])];
    const key = addresses.join(',');
    const cached = this.clients.get(clusterId);
    if (cached && cached.key === key) return cached.client;
    void cached?.client.close();
    const client = new NativeClient({ nodes: addresses, deadlineMs: 10_000, requestTimeoutMs: 5_000, connections: 4 });
    this.clients.set(clusterId, { key, client });
    return client;
  }

  private async ensureOnBackend(record: QueueRecord): Promise<void> {
    await this.backend(record.clusterId).call('CreateQueue', { queue: record.id, attributes: formatQueueConfig(record.config), arn: record.arn });
  }

  /** Every cluster with its nodes, leader, epoch, ISR, per-node lag and per-queue counts (from its leader). */
  async clusterView(): Promise<{ clusters: ClusterView[]; stale: boolean }> {
    const clusters = await Promise.all(
      [...this.cache.clusters.values()].map(async (c): Promise<ClusterView> => {
        const leaderAddress = c.state?.leader ? c.nodes.get(c.state.leader)?.address : undefined;
        let status: { followers?: Record<string, { lag: number; inSync: boolean }>; queues?: ClusterView['queues'] } | undefined;
        if (leaderAddress) {
          try {
            const res = await request(`${leaderAddress}/status`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
            status = res.statusCode === 200 ? ((await res.body.json()) as typeof status) : (await res.body.dump(), undefined);
          } catch {
            status = undefined;
          }
        }
        const queues = status?.queues ?? {};
        this.backlogs.set(c.id, Object.values(queues).reduce((n, q) => n + q.visible + q.inflight + q.delayed, 0));
        const ids = new Set([...c.members.keys(), ...c.nodes.keys(), ...(c.state?.isr ?? [])]);
        return {
          id: c.id,
          epoch: c.state?.epoch ?? null,
          leader: c.state?.leader ?? null,
          isr: c.state?.isr ?? [],
          nodes: [...ids].sort().map((id) => ({
            id,
            address: c.nodes.get(id)?.address ?? c.members.get(id)?.address ?? '',
            live: c.nodes.has(id),
            lag: id === c.state?.leader ? 0 : status?.followers?.[id]?.lag,
            inSync: c.state?.isr.includes(id),
            ...(c.retired.has(id) ? { retired: c.retired.get(id) } : {}),
          })),
          queues,
          reachable: status !== undefined,
        };
      }),
    );
    return { clusters: clusters.sort((a, b) => (a.id < b.id ? -1 : 1)), stale: this.stale };
  }

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    this.moveTasks.close();
    for (const { client } of this.clients.values()) await client.close();
    this.session.close();
  }
}
