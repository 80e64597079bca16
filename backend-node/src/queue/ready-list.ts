/**
 * A queue's visible messages, oldest first: received from the front, added at the back. Each
 * member's meta holds the index of its slot in an array, so adding, removing and walking need no
 * hash table at all (every replica files every message at each receive and delete, and a Map of
 * 100,000 numbers rehashes as it grows and shrinks). A removed member's slot is emptied and
 * skipped by walks; the array is rebuilt when empty slots outnumber members, or make up most of it.
 */
import type { MessageMeta } from './types.ts';

const SLOT = Symbol('readySlot');
/** A meta with its slot in the list, or -1 when it is not a member (kept as a number so metas keep one shape). */
type Slotted = MessageMeta & { [SLOT]?: number };

export class ReadyList {
  private order: Array<Slotted | undefined> = [];
  /** Slots before this index are all empty. */
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  has(meta: MessageMeta): boolean {
    const slot = (meta as Slotted)[SLOT];
    return slot !== undefined && slot >= 0;
  }

  /** Adds at the back; a member already in keeps its place. */
  add(meta: MessageMeta): void {
    if (this.has(meta)) return;
    (meta as Slotted)[SLOT] = this.order.length;
    this.order.push(meta);
    this.live += 1;
  }

  delete(meta: MessageMeta): boolean {
    const slot = (meta as Slotted)[SLOT];
    if (slot === undefined || slot < 0) return false;
    this.order[slot] = undefined;
    (meta as Slotted)[SLOT] = -1;
    this.live -= 1;
    if (this.live === 0) {
      this.order = [];
      this.head = 0;
    } else if (this.order.length - this.head > 2 * this.live + 1024) {
      this.compact();
    }
    return true;
  }

  /**
   * Calls `visit` with members oldest first until it returns false or every member was visited.
   * `visit` must not add or delete members.
   */
  forEachOldest(visit: (meta: MessageMeta) => boolean): void {
    let i = this.head;
    while (i < this.order.length && this.order[i] === undefined) i++;
    this.head = i;
    // A steady backlog never leaves the list empty: drop the emptied front before it grows without bound.
    if (i > 1024 && 2 * i > this.order.length) {
      this.compact();
      i = 0;
    }
    const order = this.order;
    for (; i < order.length; i++) {
      const meta = order[i];
      if (meta !== undefined && !visit(meta)) return;
    }
  }

  private compact(): void {
    const order: Slotted[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const meta = this.order[i];
      if (meta === undefined) continue;
      meta[SLOT] = order.length;
      order.push(meta);
    }
    this.order = order;
    this.head = 0;
  }
}
