/**
 * One queue's messages and the in-memory indexes over them. Pure: no I/O, no clock of its own;
 * every method that depends on time takes `now`.
 *
 * Each message is in exactly one of three sets:
 *   delayed  --(delay ends)-->  ready  --(receive)-->  inflight  --(timeout ends)--> ready
 * and leaves all of them when deleted, purged, expired or moved to a dead-letter queue. A min-heap
 * of visibility deadlines moves messages back to `ready` as time advances (entries made stale by a
 * visibility change are skipped when popped).
 *
 * FIFO queues also keep, per message group, the group's messages in order and how many are in
 * flight: a group with a message in flight is locked, and only unlocked groups are offered.
 */
import { MinHeap } from './min-heap.ts';
import { OrderedSet } from './ordered-set.ts';
import { ReadyList } from './ready-list.ts';
import type { MessageMeta, QueueRecord } from './types.ts';

export type MessageStatus = 'ready' | 'inflight' | 'delayed';

/**
 * Which of the three sets a message is in, kept on its meta in memory (encodeMeta writes named
 * fields only), and the ready list keeps its slot there too: receives and deletes touch no hash
 * set. Every replica files every message at each receive and delete, so each hash operation saved
 * counts three times.
 */
const STATUS = Symbol('status');
type Filed = MessageMeta & { [STATUS]?: MessageStatus };

interface GroupState {
  seqs: number[];
  head: number;
  live: number;
  inflight: number;
}

/** How a receive treats a candidate message. */
export type Candidate = 'deliver' | 'move' | 'skip';

/** Upper bound on messages (or groups) one receive looks at before giving up, as SQS bounds its FIFO scan. */
export const RECEIVE_SCAN_LIMIT = 120_000;

export class QueueState {
  record: QueueRecord;
  /** Messages by enqueue sequence; Map order is enqueue order, so the oldest come first. */
  readonly messages = new Map<number, MessageMeta>();
  /** FIFO deduplication window by key; Map order is expiry order. */
  readonly dedup = new Map<string, { messageId: string; sequenceNumber?: string; expiresAt: number }>();

  /** Visible messages, oldest first (receives take from the front). */
  private readonly ready = new ReadyList();
  /** How many messages are in flight, and delayed (each message's own status says which it is). */
  private inflightSize = 0;
  private delayedSize = 0;
  private readonly deadlines = new MinHeap();
  private readonly groups = new Map<string, GroupState>();
  /** Groups with nothing in flight, in the order they became so (a receive offers the longest-waiting first). */
  private readonly availableGroups = new OrderedSet<string>();

  constructor(record: QueueRecord) {
    this.record = record;
  }

  get fifo(): boolean {
    return this.record.config.fifo;
  }

  statusOf(seq: number): MessageStatus | undefined {
    return (this.messages.get(seq) as Filed | undefined)?.[STATUS];
  }

  /** Approximate counters as SQS reports them, after bringing the indexes up to `now`. */
  counts(now: number): { visible: number; inflight: number; delayed: number } {
    this.advance(now);
    return { visible: this.ready.size, inflight: this.inflightSize, delayed: this.delayedSize };
  }

  get inflightCount(): number {
    return this.inflightSize;
  }

  /** Puts a message (already in `messages`) in one of the three sets. */
  private file(meta: Filed, status: MessageStatus): void {
    meta[STATUS] = status;
    if (status === 'ready') this.ready.add(meta);
    else if (status === 'inflight') this.inflightSize += 1;
    else this.delayedSize += 1;
  }

  /** Takes a message out of its set; the status it had. */
  private unfile(meta: Filed): MessageStatus | undefined {
    const status = meta[STATUS];
    if (status === 'ready') this.ready.delete(meta);
    else if (status === 'inflight') this.inflightSize -= 1;
    else if (status === 'delayed') this.delayedSize -= 1;
    meta[STATUS] = undefined;
    return status;
  }

  /** True once a message came in from another queue (dead-letter redrive): enqueue order then says nothing about log order. */
  hasMovedIn = false;

  /** Adds a message (new, moved in, or loaded at start) and files it by its visibility at `now`. */
  add(meta: MessageMeta, now: number): void {
    const earlier = this.messages.get(meta.seq);
    if (earlier) this.unfile(earlier); // added again: counted once
    this.messages.set(meta.seq, meta);
    if (meta.dlqSourceArn !== undefined) this.hasMovedIn = true;
    const group = this.groupOf(meta);
    if (group) {
      group.seqs.push(meta.seq);
      group.live += 1;
    }
    if (meta.visibleAt <= now) {
      this.file(meta, 'ready');
    } else if (meta.receiveCount > 0) {
      this.file(meta, 'inflight');
      if (group) group.inflight += 1;
      this.deadlines.push(meta.visibleAt, meta.seq);
    } else {
      this.file(meta, 'delayed');
      this.deadlines.push(meta.visibleAt, meta.seq);
    }
    if (group) this.refreshGroup(meta.groupId!, group);
  }

  /** Removes a message from every index and returns it. */
  remove(seq: number): MessageMeta | undefined {
    const meta = this.messages.get(seq);
    if (!meta) return undefined;
    this.messages.delete(seq);
    const wasInflight = this.unfile(meta) === 'inflight';
    const group = this.groupOf(meta);
    if (group) {
      if (wasInflight) group.inflight -= 1;
      group.live -= 1;
      this.trimGroupHead(group);
      this.refreshGroup(meta.groupId!, group);
    }
    return meta;
  }

  /** Records a receive of `meta` (a message of this queue): it goes in flight until `visibleAt` (or stays ready if that is now). */
  markReceived(meta: MessageMeta, visibleAt: number, now: number): void {
    this.retime(meta, visibleAt, now, true);
  }

  /** Moves the visibility deadline of `meta` (a message of this queue), for ChangeMessageVisibility. */
  setVisibleAt(meta: MessageMeta, visibleAt: number, now: number): void {
    this.retime(meta, visibleAt, now, false);
  }

  private retime(meta: MessageMeta, visibleAt: number, now: number, received: boolean): void {
    const seq = meta.seq;
    meta.visibleAt = visibleAt;
    const group = this.groupOf(meta);
    const wasInflight = this.unfile(meta) === 'inflight';
    let nowInflight = false;
    if (visibleAt <= now) {
      this.file(meta, 'ready');
    } else if (received || wasInflight || meta.receiveCount > 0) {
      this.file(meta, 'inflight');
      nowInflight = true;
      this.deadlines.push(visibleAt, seq);
    } else {
      this.file(meta, 'delayed');
      this.deadlines.push(visibleAt, seq);
    }
    if (group && wasInflight !== nowInflight) {
      group.inflight += nowInflight ? 1 : -1;
      this.refreshGroup(meta.groupId!, group);
    }
  }

  /** Brings the indexes up to `now`: delays and visibility timeouts that have ended make messages ready. */
  advance(now: number): void {
    for (let top = this.deadlines.peekAt(); top !== undefined && top <= now; top = this.deadlines.peekAt()) {
      const seq = this.deadlines.pop();
      const meta = this.messages.get(seq) as Filed | undefined;
      if (!meta || meta.visibleAt !== top || meta[STATUS] === 'ready') continue;
      const wasInflight = this.unfile(meta) === 'inflight';
      this.file(meta, 'ready');
      const group = this.groupOf(meta);
      if (group && wasInflight) {
        group.inflight -= 1;
        this.refreshGroup(meta.groupId!, group);
      }
    }
  }

  /**
   * Chooses up to `max` messages to deliver. `classify` says, per visible message, whether to
   * deliver it, move it to the dead-letter queue (does not count toward `max`) or skip it (expired).
   * Read-only: the caller turns the choice into a receive record.
   */
  pick(max: number, now: number, classify: (meta: MessageMeta) => Candidate): { deliver: number[]; move: number[] } {
    this.advance(now);
    return this.fifo ? this.pickFifo(max, classify) : this.pickStandard(max, classify);
  }

  private pickStandard(max: number, classify: (meta: MessageMeta) => Candidate): { deliver: number[]; move: number[] } {
    const deliver: number[] = [];
    const move: number[] = [];
    let scanned = 0;
    this.ready.forEachOldest((meta) => {
      if (deliver.length >= max || scanned++ >= RECEIVE_SCAN_LIMIT) return false;
      const verdict = classify(meta);
      if (verdict === 'deliver') deliver.push(meta.seq);
      else if (verdict === 'move') move.push(meta.seq);
      return true;
    });
    return { deliver, move };
  }

  // FIFO: take as many as possible from each unlocked group in order, stopping a group at its first
  // message that is not visible, so no message overtakes an earlier one of its group.
  private pickFifo(max: number, classify: (meta: MessageMeta) => Candidate): { deliver: number[]; move: number[] } {
    const deliver: number[] = [];
    const move: number[] = [];
    let scanned = 0;
    this.availableGroups.forEachOldest((groupId) => {
      if (deliver.length >= max || scanned >= RECEIVE_SCAN_LIMIT) return false;
      const group = this.groups.get(groupId)!;
      for (let i = group.head; i < group.seqs.length && deliver.length < max; i++) {
        scanned += 1;
        const seq = group.seqs[i]!;
        const meta = this.messages.get(seq);
        if (!meta) continue;
        if ((meta as Filed)[STATUS] !== 'ready') break;
        const verdict = classify(meta);
        if (verdict === 'deliver') deliver.push(seq);
        else if (verdict === 'move') move.push(seq);
      }
      return true;
    });
    return { deliver, move };
  }

  /** Earliest future time at which a message becomes visible, for long-poll wake-ups. */
  nextVisibleAt(): number | undefined {
    return this.deadlines.peekAt();
  }

  private groupOf(meta: MessageMeta): GroupState | undefined {
    if (!this.fifo || meta.groupId === undefined) return undefined;
    let group = this.groups.get(meta.groupId);
    if (!group) {
      group = { seqs: [], head: 0, live: 0, inflight: 0 };
      this.groups.set(meta.groupId, group);
    }
    return group;
  }

  private trimGroupHead(group: GroupState): void {
    while (group.head < group.seqs.length && !this.messages.has(group.seqs[group.head]!)) group.head += 1;
    if (group.head > 1024 && group.head * 2 > group.seqs.length) {
      group.seqs.splice(0, group.head);
      group.head = 0;
    }
  }

  private refreshGroup(groupId: string, group: GroupState): void {
    if (group.live === 0) {
      this.groups.delete(groupId);
      this.availableGroups.delete(groupId);
    } else if (group.inflight === 0) {
      this.availableGroups.add(groupId);
    } else {
      this.availableGroups.delete(groupId);
    }
  }
}
