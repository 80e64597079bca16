/**
 * A deliberately naive reference model of one SQS queue: arrays and linear scans, no indexes.
 * The model-based tests run it beside the engine and compare what each returns.
 */
import { LIMITS } from '@conveyor/client-sdk/wire';

export interface ModelMessage {
  id: string;
  body: string;
  groupId?: string;
  enqueuedAt: number;
  visibleAt: number;
  receiveCount: number;
  /** Number of the latest receive; handles remember the number they were minted with. */
  receiveNo: number;
  receivedAt: number;
}

export interface ModelHandle {
  handle: string;
  messageId: string;
  receiveNo: number;
}

export class QueueModel {
  messages: ModelMessage[] = [];
  dedup = new Map<string, { id: string; expiresAt: number }>();
  lastPurgeAt = 0;

  constructor(
    readonly fifo: boolean,
    readonly visibilityMs: number,
    readonly retentionMs: number,
    readonly purgeIntervalMs: number,
  ) {}

  private expired(m: ModelMessage, now: number): boolean {
    return m.enqueuedAt + this.retentionMs <= now;
  }

  private inflight(m: ModelMessage, now: number): boolean {
    return m.receiveCount > 0 && m.visibleAt > now;
  }

  /** Returns the id a send must answer with if it is a duplicate, else undefined. */
  duplicateOf(dedupId: string | undefined, now: number): string | undefined {
    if (!this.fifo || dedupId === undefined) return undefined;
    const entry = this.dedup.get(dedupId);
    return entry && entry.expiresAt > now ? entry.id : undefined;
  }

  send(id: string, body: string, groupId: string | undefined, dedupId: string | undefined, delayMs: number, now: number): void {
    this.messages.push({ id, body, groupId, enqueuedAt: now, visibleAt: now + delayMs, receiveCount: 0, receiveNo: 0, receivedAt: 0 });
    if (this.fifo && dedupId !== undefined) this.dedup.set(dedupId, { id, expiresAt: now + LIMITS.dedupWindowMs });
  }

  /** Messages a receive may return: visible and not past retention (standard queues). */
  visible(now: number): ModelMessage[] {
    return this.messages.filter((m) => m.visibleAt <= now && !this.expired(m, now));
  }

  /** FIFO: per unlocked group, the run of deliverable messages from the group's head, in order. */
  deliverableByGroup(now: number): Map<string, ModelMessage[]> {
    const out = new Map<string, ModelMessage[]>();
    const locked = new Set(this.messages.filter((m) => this.inflight(m, now)).map((m) => m.groupId!));
    const stopped = new Set<string>();
    for (const m of this.messages) {
      const g = m.groupId!;
      if (locked.has(g) || stopped.has(g)) continue;
      if (this.expired(m, now) && m.visibleAt <= now) continue; // expired ones are skipped, not delivered
      if (m.visibleAt > now) {
        stopped.add(g);
        continue;
      }
      const run = out.get(g) ?? [];
      run.push(m);
      out.set(g, run);
    }
    return out;
  }

  markReceived(id: string, visibilityMs: number, now: number): ModelMessage {
    const m = this.messages.find((x) => x.id === id)!;
    m.receiveCount += 1;
    m.receiveNo += 1;
    m.receivedAt = now;
    m.visibleAt = now + visibilityMs;
    return m;
  }

  /** 'ok' | 'noop' | an error code, exactly as the engine must answer a DeleteMessage. */
  delete(h: ModelHandle, now: number): 'ok' | 'InvalidParameterValue' {
    const index = this.messages.findIndex((m) => m.id === h.messageId);
    if (index < 0) return 'ok';
    const m = this.messages[index]!;
    if (m.receiveNo !== h.receiveNo) return this.fifo ? 'InvalidParameterValue' : 'ok';
    if (this.fifo && m.visibleAt <= now) return 'InvalidParameterValue';
    this.messages.splice(index, 1);
    return 'ok';
  }

  changeVisibility(h: ModelHandle, timeoutSeconds: number, now: number): 'ok' | 'InvalidParameterValue' {
    const m = this.messages.find((x) => x.id === h.messageId);
    if (!m || m.receiveNo !== h.receiveNo) return 'InvalidParameterValue';
    if (this.fifo && m.visibleAt <= now) return 'InvalidParameterValue';
    const visibleAt = now + timeoutSeconds * 1000;
    if (visibleAt - m.receivedAt > LIMITS.maxVisibilityTimeoutSeconds * 1000) return 'InvalidParameterValue';
    m.visibleAt = visibleAt;
    return 'ok';
  }

  purge(now: number): 'ok' | 'PurgeQueueInProgress' {
    if (this.lastPurgeAt > 0 && now - this.lastPurgeAt < this.purgeIntervalMs) return 'PurgeQueueInProgress';
    this.messages = [];
    this.lastPurgeAt = now;
    return 'ok';
  }

  expire(now: number): void {
    this.messages = this.messages.filter((m) => !this.expired(m, now));
    for (const [key, entry] of this.dedup) if (entry.expiresAt <= now) this.dedup.delete(key);
  }

  counts(now: number): { visible: number; inflight: number; delayed: number } {
    let visible = 0;
    let inflight = 0;
    let delayed = 0;
    for (const m of this.messages) {
      if (m.visibleAt <= now) visible += 1;
      else if (m.receiveCount > 0) inflight += 1;
      else delayed += 1;
    }
    return { visible, inflight, delayed };
  }
}
