/**
 * Folding state writes before they reach the disk (storage/write-set.ts): whatever the
 * order of puts and deletes, writing the folded set leaves the disk as writing each one in turn
 * would, provided keys put as new were not on the disk before; and it writes fewer operations.
 * A meta's put is encoded when written, from a copy of the meta as it was when the set was made.
 */
import t from 'tap';
import fc from 'fast-check';
import { LoggedBodyDelete, MetaPut, NewKeyPut, foldWrite, type WriteValue } from '../../backend-node/src/storage/mutation-encoding.ts';
import { WriteSet, toWriteSet } from '../../backend-node/src/storage/write-set.ts';
import { decodeMeta } from '../../backend-node/src/storage/meta-encoding.ts';
import { bodyKey, isBodyKey, metaKey } from '../../backend-node/src/storage/keys.ts';
import type { MessageMeta } from '../../backend-node/src/queue/types.ts';

/**
 * One write to one of a few keys; `new` puts are only made to keys that are not on the disk;
 * `logdel` is a body delete that waits on trimming (LoggedBodyDelete), a plain delete elsewhere.
 */
type Op = { key: number; kind: 'new' | 'put' | 'del' | 'logdel'; byte: number };

/** The log start written with every set here: body 3's record is trimmed by then, body 4's is not. */
const LOG_START = 5;
/** Each body lives in one log record, as a message's does. */
const logRefOf = (k: number): number => (k === 3 ? 1 : 9);

/** Writes a set to a model disk the way the stores do; the operations written. */
function writeTo(disk: Map<string, number>, set: WriteSet): number {
  let written = 0;
  set.forEach(LOG_START, (key, bytes) => void (disk.set(key, bytes[0]!), written++), (key) => void (disk.delete(key), written++));
  return written;
}

/** Keys 0–2 are metas (kept by queue and sequence), 3 and 4 bodies, 5 another key. */
const metaOf = (k: number): { queueId: number; seq: number } | undefined => (k < 2 ? { queueId: 1, seq: k } : k === 2 ? { queueId: 2, seq: 0 } : undefined);
const keyOf = (k: number): string => {
  const meta = metaOf(k);
  return meta ? metaKey(meta.queueId, meta.seq) : k === 3 || k === 4 ? bodyKey(`m${k}`) : `k${k}`;
};
const foldOne = (set: WriteSet, k: number, value: WriteValue): WriteSet => {
  const meta = metaOf(k);
  return meta ? set.foldMeta(meta.queueId, meta.seq, value) : set.fold(keyOf(k), value);
};

const opsArb = fc.array(fc.record({ key: fc.integer({ min: 0, max: 5 }), kind: fc.constantFrom('new' as const, 'put' as const, 'del' as const, 'logdel' as const), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 40 });

t.test('writing the folded set leaves the disk as writing every operation in turn', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }), opsArb, (onDisk, rawOps) => {
      const initial = new Map(onDisk.map((k): [string, number] => [keyOf(k), 7]));
      // A `new` put names a key that no write has stored: not on the disk and not put before here.
      const seen = new Set(initial.keys());
      const ops: Op[] = rawOps.map((op) => {
        const key = keyOf(op.key);
        // Body keys are only ever put for records already trimmed (body 3), never for body 4.
        const kind =
          op.key === 4 && (op.kind === 'new' || op.kind === 'put') ? 'logdel' : op.kind === 'new' && seen.has(key) ? 'put' : op.kind === 'logdel' && !isBodyKey(key) ? 'del' : op.kind;
        if (kind !== 'del' && kind !== 'logdel') seen.add(key);
        return { ...op, kind };
      });
      const valueOf = (op: Op): WriteValue =>
        op.kind === 'del' ? null : op.kind === 'logdel' ? new LoggedBodyDelete(logRefOf(op.key)) : op.kind === 'new' ? new NewKeyPut(Buffer.from([op.byte])) : Buffer.from([op.byte]);

      const oneByOne = new Map(initial);
      for (const op of ops) writeTo(oneByOne, foldOne(new WriteSet(), op.key, valueOf(op)));

      const set = new WriteSet();
      for (const op of ops) foldOne(set, op.key, valueOf(op));
      const folded = new Map(initial);
      const written = writeTo(folded, set);

      return JSON.stringify([...folded].sort()) === JSON.stringify([...oneByOne].sort()) && written <= ops.length;
    }),
    { numRuns: 2_000 },
  );
  t.pass('2,000 generated sequences agree');
});

t.test('a new key deleted before it is written costs nothing; an older key costs its delete', async (t) => {
  const set = new Map<string, WriteValue>();
  foldWrite(set, 'fresh', new NewKeyPut(Buffer.from([1])));
  foldWrite(set, 'fresh', Buffer.from([2])); // a receive rewrites it
  t.ok(set.get('fresh') instanceof NewKeyPut, 'a new key stays new through later puts');
  t.same((set.get('fresh') as NewKeyPut).value, Buffer.from([2]), 'with the latest bytes');
  foldWrite(set, 'fresh', null);
  t.notOk(set.has('fresh'), 'deleted before it was written: nothing to write');
  foldWrite(set, 'old', Buffer.from([3]));
  foldWrite(set, 'old', null);
  t.equal(set.get('old'), null, 'a key that may be on the disk keeps its delete');
  const body = new LoggedBodyDelete(5);
  foldWrite(set, 'body', body);
  t.equal(set.get('body'), body, 'a body delete is kept as it is (decided when written)');
});

t.test("toWriteSet: a sent message's meta is new; received and deleted in the same set, it leaves no write", async (t) => {
  const meta = { seq: 9, id: 'm-9', sentAt: 1, enqueuedAt: 1, visibleAt: 1, receiveCount: 0, firstReceiveAt: 0, receivedAt: 0, nonce: 0, md5OfBody: 'x', logRef: 3 } as MessageMeta;
  const sent = toWriteSet([{ op: 'putMeta', queueId: 1, meta, created: true }]);
  t.ok(sent.get(metaKey(1, 9)) instanceof NewKeyPut, 'the send puts a new key');
  const all = toWriteSet([
    { op: 'putMeta', queueId: 1, meta, created: true },
    { op: 'putMeta', queueId: 1, meta: { ...meta, receiveCount: 1 } },
    { op: 'delMeta', queueId: 1, seq: 9 },
    { op: 'delBody', messageId: 'm-9', logRef: 3 },
  ]);
  t.notOk(all.has(metaKey(1, 9)), 'no meta write at all');
  t.ok(all.get('b!m-9') instanceof LoggedBodyDelete, 'the body delete waits for the write to decide');
  const updated = toWriteSet([{ op: 'putMeta', queueId: 1, meta }, { op: 'delMeta', queueId: 1, seq: 9 }]);
  t.equal(updated.get(metaKey(1, 9)), null, 'a meta written earlier is deleted');
});

t.test('a meta put is encoded when written, as the meta was when the set was made', async (t) => {
  const meta = { seq: 4, id: 'm-4', sentAt: 1, enqueuedAt: 1, visibleAt: 5, receiveCount: 1, firstReceiveAt: 2, receivedAt: 2, nonce: 77, md5OfBody: 'x', logRef: 3 } as MessageMeta;
  const set = toWriteSet([{ op: 'putMeta', queueId: 1, meta }]);
  t.ok(set.get(metaKey(1, 4)) instanceof MetaPut, 'not encoded yet');
  // Later records change the live meta before the set is written.
  meta.receiveCount = 2;
  meta.nonce = 78;
  const written = new Map<string, Buffer>();
  set.forEach(undefined, (key, bytes) => void written.set(key, bytes), () => t.fail('no delete'));
  const stored = decodeMeta(written.get(metaKey(1, 4))!);
  t.equal(stored.receiveCount, 1, 'the receive count as of the set');
  t.equal(stored.nonce, 77, 'the nonce as of the set');
  t.equal(stored.logRef, 3);
  const created = toWriteSet([{ op: 'putMeta', queueId: 1, meta, created: true }]);
  const fresh = new Map<string, Buffer>();
  created.forEach(undefined, (key, bytes) => void fresh.set(key, bytes), () => t.fail('no delete'));
  t.equal(decodeMeta(fresh.get(metaKey(1, 4))!).receiveCount, 2, 'a new key is written with its meta too');
});

t.test('metas folded uncopied are written as they are at the write', async (t) => {
  const meta = { seq: 4, id: 'm-4', sentAt: 1, enqueuedAt: 1, visibleAt: 5, receiveCount: 1, firstReceiveAt: 2, receivedAt: 2, nonce: 77, md5OfBody: 'x', logRef: 3 } as MessageMeta;
  const set = new WriteSet().foldMutations([{ op: 'putMeta', queueId: 1, meta }], false);
  meta.receiveCount = 2;
  const written = new Map<string, Buffer>();
  set.forEach(undefined, (key, bytes) => void written.set(key, bytes), () => t.fail('no delete'));
  t.equal(decodeMeta(written.get(metaKey(1, 4))!).receiveCount, 2, 'the live meta, changed after the fold');
});

t.test('a later set folded in wins key by key, metas and other keys alike', async (t) => {
  const earlier = new WriteSet().foldMeta(1, 5, new NewKeyPut(Buffer.from([1]))).foldMeta(1, 6, Buffer.from([2])).fold('q!1', Buffer.from([3]));
  const later = new WriteSet().foldMeta(1, 5, null).foldMeta(1, 6, null).foldMeta(3, 1, Buffer.from([4])).fold('q!1', null);
  earlier.foldSet(later);
  t.notOk(earlier.has(metaKey(1, 5)), 'a new meta deleted later leaves nothing');
  t.equal(earlier.get(metaKey(1, 6)), null, 'an older meta is deleted');
  t.same(earlier.get(metaKey(3, 1)), Buffer.from([4]), "the later set's own keys come along");
  t.equal(earlier.get('q!1'), null);
  t.equal(earlier.size, 3);
  t.equal(later.size, 4, 'the later set is unchanged');
});

t.test('body deletes that wait on trimming are written only when their record is trimmed, and fold with other body writes in order', async (t) => {
  const deletes = (set: WriteSet, logStart: number): string[] => {
    const keys: string[] = [];
    set.forEach(logStart, () => undefined, (key) => void keys.push(key));
    return keys.sort();
  };
  const waiting = new WriteSet().foldMutations([
    { op: 'delBody', messageId: 'a', logRef: 3 },
    { op: 'delBody', messageId: 'b', logRef: 8 },
  ]);
  t.equal(waiting.size, 2);
  t.ok(waiting.get(bodyKey('a')) instanceof LoggedBodyDelete, 'readable by key while it waits');
  t.same(deletes(waiting, 5), [bodyKey('a')], "only the body whose record is trimmed (the other is still in the log)");
  t.same(deletes(waiting, 10), [bodyKey('a'), bodyKey('b')]);

  // A body put (or plain delete) in the same set moves the waiting deletes to the keyed writes, in order.
  const mixed = new WriteSet().foldMutations([{ op: 'delBody', messageId: 'a', logRef: 3 }]).fold(bodyKey('a'), Buffer.from([1])).foldMutations([{ op: 'delBody', messageId: 'c', logRef: 3 }]);
  t.same(mixed.get(bodyKey('a')), Buffer.from([1]), 'the later put wins over the earlier delete');
  t.ok(mixed.get(bodyKey('c')) instanceof LoggedBodyDelete);
  t.same(deletes(mixed, 5), [bodyKey('c')]);

  // Folding sets: waiting deletes come along, and meet the other set's body writes in order.
  const earlier = new WriteSet().fold(bodyKey('d'), Buffer.from([2]));
  earlier.foldSet(new WriteSet().foldMutations([{ op: 'delBody', messageId: 'd', logRef: 1 }, { op: 'delBody', messageId: 'e', logRef: 9 }]));
  t.ok(earlier.get(bodyKey('d')) instanceof LoggedBodyDelete, "the later set's delete replaces the earlier put");
  t.same(deletes(earlier, 5), [bodyKey('d')]);
  const plain = new WriteSet().foldSet(waiting);
  t.same(deletes(plain, 10), [bodyKey('a'), bodyKey('b')], 'into an empty set they stay waiting, and are written the same');
});
