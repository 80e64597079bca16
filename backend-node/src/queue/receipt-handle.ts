/**
 * Receipt handles: opaque base64url tokens naming the queue incarnation, the message's enqueue
 * sequence and the nonce of the receive that produced them. A handle from another queue (or a
 * deleted and recreated one) has a different queue id, so it is rejected; a guessed one needs the
 * 48-bit random nonce.
 */
const VERSION = 1;
const LENGTH = 1 + 4 + 6 + 6;

export interface ReceiptHandle {
  queueId: number;
  seq: number;
  nonce: number;
}

export const MAX_NONCE = 2 ** 48;

export function encodeReceiptHandle(handle: ReceiptHandle): string {
  const buf = Buffer.allocUnsafe(LENGTH);
  buf.writeUInt8(VERSION, 0);
  buf.writeUInt32BE(handle.queueId, 1);
  buf.writeUIntBE(handle.seq, 5, 6);
  buf.writeUIntBE(handle.nonce, 11, 6);
  return buf.toString('base64url');
}

/** Returns undefined for anything that is not a handle this code could have made. */
export function decodeReceiptHandle(text: unknown): ReceiptHandle | undefined {
  if (typeof text !== 'string' || text.length !== 23 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64url');
  if (buf.length !== LENGTH || buf.readUInt8(0) !== VERSION) return undefined;
  return { queueId: buf.readUInt32BE(1), seq: buf.readUIntBE(5, 6), nonce: buf.readUIntBE(11, 6) };
}
