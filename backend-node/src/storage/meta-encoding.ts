/**
 * Message metas as stored: a positional msgpack array rather than a keyed map. A meta is written
 * at every send and receive on every replica, so this halves its bytes and its encoding time.
 * Older data directories hold keyed maps; decodeMeta reads both.
 */
import { pack, unpack } from 'msgpackr';
import type { MessageMeta } from '../queue/types.ts';

/** Format tag, first in the array, so the layout can change again. */
const FORMAT = 1;

export function encodeMeta(m: MessageMeta): Buffer {
  const row: unknown[] = [
    FORMAT, m.seq, m.id, m.sentAt, m.enqueuedAt, m.visibleAt, m.receiveCount, m.firstReceiveAt, m.receivedAt, m.nonce, m.md5OfBody,
    m.logRef, m.groupId, m.dedupId, m.sequenceNumber, m.md5OfAttributes, m.senderId, m.traceHeader, m.dlqSourceArn,
  ];
  // Trailing absent fields are left out (most messages have none of the optional ones).
  let end = row.length;
  while (end > 11 && row[end - 1] === undefined) end--;
  row.length = end;
  return pack(row);
}

export function decodeMeta(bytes: Uint8Array): MessageMeta {
  const value = unpack(bytes) as unknown;
  if (!Array.isArray(value)) return value as MessageMeta;
  if (value[0] !== FORMAT) throw new Error(`unknown message meta format ${String(value[0])}`);
  const meta: MessageMeta = {
    seq: value[1] as number,
    id: value[2] as string,
    sentAt: value[3] as number,
    enqueuedAt: value[4] as number,
    visibleAt: value[5] as number,
    receiveCount: value[6] as number,
    firstReceiveAt: value[7] as number,
    receivedAt: value[8] as number,
    nonce: value[9] as number,
    md5OfBody: value[10] as string,
  };
  const optional = ['logRef', 'groupId', 'dedupId', 'sequenceNumber', 'md5OfAttributes', 'senderId', 'traceHeader', 'dlqSourceArn'] as const;
  optional.forEach((name, i) => {
    const v = value[11 + i] as never;
    if (v !== undefined && v !== null) meta[name] = v;
  });
  return meta;
}
