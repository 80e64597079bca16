/**
 * Receipt handles: opaque base64url tokens naming the queue incarnation, the message's enqueue
 * sequence and the nonce of the receive that produced them. A handle from another queue (or a
 * deleted and recreated one) has a different queue id, so it is rejected; a guessed one needs the
 * 48-bit random nonce.
 *
 * The token is the base64url (unpadded) of 17 bytes: a version byte, the queue id (4 bytes), the
 * sequence (6) and the nonce (6), big-endian. A leader makes one per message received and reads
 * one per message deleted, so both directions are done in plain arithmetic, with no Buffer.
 */
const VERSION = 1;
const LENGTH = 1 + 4 + 6 + 6;
/** Characters in a token: 17 bytes are 136 bits, 23 base64 digits (the last carries 4 bits). */
const TOKEN_LENGTH = 23;

export interface ReceiptHandle {
  queueId: number;
  seq: number;
  nonce: number;
}

export const MAX_NONCE = 2 ** 48;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DIGIT_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** Character code → base64url digit, or -1. */
const DIGIT_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT_VALUES[ALPHABET.charCodeAt(i)] = i;

// Scratch space: encoding and decoding are synchronous, so one of each serves every call.
const bytes = new Uint8Array(LENGTH + 1); // one spare zero byte completes the last 3-byte group
const codes = new Uint16Array(TOKEN_LENGTH);

/** Writes `value` (below 2^48) as 6 big-endian bytes at `at`. */
function put48(value: number, at: number): void {
  const high = Math.floor(value / 2 ** 24);
  const low = value - high * 2 ** 24;
  bytes[at] = high >>> 16;
  bytes[at + 1] = (high >>> 8) & 255;
  bytes[at + 2] = high & 255;
  bytes[at + 3] = low >>> 16;
  bytes[at + 4] = (low >>> 8) & 255;
  bytes[at + 5] = low & 255;
}

const get48 = (at: number): number =>
  ((bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!) * 2 ** 24 + ((bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!);

export function encodeReceiptHandle(handle: ReceiptHandle): string {
  bytes[0] = VERSION;
  bytes[1] = handle.queueId >>> 24;
  bytes[2] = (handle.queueId >>> 16) & 255;
  bytes[3] = (handle.queueId >>> 8) & 255;
  bytes[4] = handle.queueId & 255;
  put48(handle.seq, 5);
  put48(handle.nonce, 11);
  bytes[LENGTH] = 0;
  for (let i = 0, c = 0; c < TOKEN_LENGTH; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    codes[c++] = DIGIT_CODES[group >>> 18]!;
    codes[c++] = DIGIT_CODES[(group >>> 12) & 63]!;
    codes[c++] = DIGIT_CODES[(group >>> 6) & 63]!;
    if (c < TOKEN_LENGTH) codes[c++] = DIGIT_CODES[group & 63]!;
  }
  const d = codes;
  return String.fromCharCode(d[0]!, d[1]!, d[2]!, d[3]!, d[4]!, d[5]!, d[6]!, d[7]!, d[8]!, d[9]!, d[10]!, d[11]!, d[12]!, d[13]!, d[14]!, d[15]!, d[16]!, d[17]!, d[18]!, d[19]!, d[20]!, d[21]!, d[22]!);
}

/** Returns undefined for anything that is not a handle this code could have made. */
export function decodeReceiptHandle(text: unknown): ReceiptHandle | undefined {
  if (typeof text !== 'string' || text.length !== TOKEN_LENGTH) return undefined;
  for (let c = 0, i = 0; c < TOKEN_LENGTH; i += 3) {
    let group = 0;
    for (let k = 0; k < 4; k++) {
      const code = c < TOKEN_LENGTH ? text.charCodeAt(c++) : 65; // 'A' (0) pads the last group
      const digit = code < 128 ? DIGIT_VALUES[code]! : -1;
      if (digit < 0) return undefined;
      group = (group << 6) | digit;
    }
    bytes[i] = group >>> 16;
    bytes[i + 1] = (group >>> 8) & 255;
    bytes[i + 2] = group & 255;
  }
  if (bytes[0] !== VERSION) return undefined;
  const queueId = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  return { queueId, seq: get48(5), nonce: get48(11) };
}
