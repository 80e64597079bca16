/**
 * A follower's reading of send records for apply: the fields a replica's state needs, without the
 * bodies and attributes. On a replica a message's body stays in its log record (the meta's
 * `logRef`), so applying a send needs neither; decoding them made a string of every body on
 * every follower, most of what a follower allocated per message (and its garbage collections'
 * work). Reads only what encodeSendEntry writes; any other encoding (msgpackr's, for records it
 * left to msgpackr or from older data directories) gets `undefined`, for the full decoder.
 */
import { SEND_ENTRY_KEYS, SEND_OPTIONAL_STRINGS } from './send-entry-encoding.ts';
import type { EncodedBody, NewMessage } from '../queue/types.ts';
import type { LogEntry } from '../replication/types.ts';

/** Node's string reader without Buffer#toString's argument handling (on Buffer.prototype since Node's early days). */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

class Skimmer {
  pos = 0;
  failed = false;
  constructor(private readonly buf: Buffer) {}

  /** True, and past them, if the next bytes are `expected`. */
  match(expected: Buffer): boolean {
    const buf = this.buf;
    const pos = this.pos;
    if (pos + expected.length > buf.length) return false;
    for (let i = 0; i < expected.length; i++) if (buf[pos + i] !== expected[i]) return false;
    this.pos = pos + expected.length;
    return true;
  }

  expect(expected: Buffer): void {
    if (!this.match(expected)) this.failed = true;
  }

  mapHeader(): number {
    return this.header(0x80, 0xde, 0xdf);
  }

  arrayHeader(): number {
    return this.header(0x90, 0xdc, 0xdd);
  }

  /** A map's or an array's item count: fix form (`fix` | n), 16-bit or 32-bit. */
  private header(fix: number, code16: number, code32: number): number {
    const buf = this.buf;
    const b = buf[this.pos++];
    if (b !== undefined && (b & 0xf0) === fix) return b & 0x0f;
    if (b === code16 && this.pos + 2 <= buf.length) {
      const n = buf.readUInt16BE(this.pos);
      this.pos += 2;
      return n;
    }
    if (b === code32 && this.pos + 4 <= buf.length) {
      const n = buf.readUInt32BE(this.pos);
      this.pos += 4;
      return n;
    }
    this.failed = true;
    return 0;
  }

  /** A number as MsgpackWriter.number writes one. */
  number(): number {
    const buf = this.buf;
    const pos = this.pos;
    const b = buf[pos];
    if (b !== undefined && b < 0x80) {
      this.pos = pos + 1;
      return b;
    }
    const size = b === 0xcc ? 1 : b === 0xcd ? 2 : b === 0xce ? 4 : b === 0xcb ? 8 : 0;
    if (size === 0 || pos + 1 + size > buf.length) {
      this.failed = true;
      return 0;
    }
    this.pos = pos + 1 + size;
    return size === 1 ? buf[pos + 1]! : size === 2 ? buf.readUInt16BE(pos + 1) : size === 4 ? buf.readUInt32BE(pos + 1) : buf.readDoubleBE(pos + 1);
  }

  /** The byte range of the str at the current position (and past it); start -1 if there is none. */
  private stringRange(): number {
    const buf = this.buf;
    const pos = this.pos;
    const b = buf[pos];
    let start: number;
    let length: number;
    if (b !== undefined && (b & 0xe0) === 0xa0) {
      start = pos + 1;
      length = b & 0x1f;
    } else if (b === 0xd9 && pos + 2 <= buf.length) {
      start = pos + 2;
      length = buf[pos + 1]!;
    } else if (b === 0xda && pos + 3 <= buf.length) {
      start = pos + 3;
      length = buf.readUInt16BE(pos + 1);
    } else if (b === 0xdb && pos + 5 <= buf.length) {
      start = pos + 5;
      length = buf.readUInt32BE(pos + 1);
    } else {
      this.failed = true;
      return -1;
    }
    if (start + length > buf.length) {
      this.failed = true;
      return -1;
    }
    this.pos = start + length;
    return start;
  }

  string(): string {
    const start = this.stringRange();
    return start < 0 ? '' : (this.buf as unknown as Utf8Slicer).utf8Slice(start, this.pos);
  }

  skipString(): void {
    this.stringRange();
  }

  /** Past the str here: its encoding (header included), a view into the record. */
  encodedString(): Buffer {
    const from = this.pos;
    this.stringRange();
    return this.buf.subarray(from, this.pos);
  }

  /** Past the value here: its encoding, a view into the record. */
  encodedValue(): Buffer {
    const from = this.pos;
    this.skipValue();
    return this.buf.subarray(from, this.pos);
  }

  /** Past one msgpack value of any kind (attributes); bounded by the buffer, as each step moves forward. */
  skipValue(): void {
    const buf = this.buf;
    let pending = 1;
    while (pending > 0 && !this.failed) {
      pending--;
      const pos = this.pos;
      const b = buf[pos];
      if (b === undefined) {
        this.failed = true;
        return;
      }
      let skip = 1;
      if (b < 0x80 || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 1;
      else if ((b & 0xf0) === 0x80) pending += 2 * (b & 0x0f);
      else if ((b & 0xf0) === 0x90) pending += b & 0x0f;
      else if ((b & 0xe0) === 0xa0) skip = 1 + (b & 0x1f);
      else if (b === 0xcc || b === 0xd0) skip = 2;
      else if (b === 0xcd || b === 0xd1) skip = 3;
      else if (b === 0xce || b === 0xd2 || b === 0xca) skip = 5;
      else if (b === 0xcf || b === 0xd3 || b === 0xcb) skip = 9;
      else if (b === 0xd9 || b === 0xc4) skip = pos + 2 <= buf.length ? 2 + buf[pos + 1]! : Infinity;
      else if (b === 0xda || b === 0xc5) skip = pos + 3 <= buf.length ? 3 + buf.readUInt16BE(pos + 1) : Infinity;
      else if (b === 0xdb || b === 0xc6) skip = pos + 5 <= buf.length ? 5 + buf.readUInt32BE(pos + 1) : Infinity;
      else if (b === 0xdc || b === 0xde) {
        if (pos + 3 > buf.length) skip = Infinity;
        else {
          pending += (b === 0xde ? 2 : 1) * buf.readUInt16BE(pos + 1);
          skip = 3;
        }
      } else if (b === 0xdd || b === 0xdf) {
        if (pos + 5 > buf.length) skip = Infinity;
        else {
          pending += (b === 0xdf ? 2 : 1) * buf.readUInt32BE(pos + 1);
          skip = 5;
        }
      } else skip = Infinity; // extensions: attributes are plain maps, so this is not ours
      if (pos + skip > buf.length) {
        this.failed = true;
        return;
      }
      this.pos = pos + skip;
    }
  }
}

const K = SEND_ENTRY_KEYS;

/**
 * Reads encodeSendEntry's encoding; `bodies`, when given, gets every message's encoded body and
 * attributes by id. Undefined if `bytes` is anything else (or is cut short).
 */
function skim(bytes: Buffer, bodies: Map<string, EncodedBody> | undefined): LogEntry | undefined {
  const r = new Skimmer(bytes);
  if (r.mapHeader() !== 3 || !r.match(K.offset)) return undefined;
  const offset = r.number();
  r.expect(K.epoch);
  const epoch = r.number();
  r.expect(K.payload);
  if (r.failed || r.mapHeader() !== 4 || !r.match(K.type) || !r.match(K.send)) return undefined;
  r.expect(K.ts);
  const ts = r.number();
  r.expect(K.queue);
  const queue = r.string();
  r.expect(K.messages);
  const count = r.arrayHeader();
  if (r.failed) return undefined;
  const messages: NewMessage[] = [];
  for (let i = 0; i < count; i++) {
    const fields = r.mapHeader();
    if (fields < 5) return undefined;
    r.expect(K.seq);
    const seq = r.number();
    r.expect(K.id);
    const id = r.string();
    r.expect(K.body);
    let encodedBody: Buffer | undefined;
    if (bodies) encodedBody = r.encodedString();
    else r.skipString();
    r.expect(K.md5OfBody);
    const md5OfBody = r.string();
    r.expect(K.delayMs);
    const delayMs = r.number();
    if (r.failed) return undefined;
    const m: NewMessage = { seq, id, body: '', md5OfBody, delayMs };
    let encodedAttributes: Buffer | undefined;
    // Then attributes, if any, and the optional strings in SEND_OPTIONAL_STRINGS order.
    let attributesAllowed = true;
    let next = 0;
    for (let f = 5; f < fields; f++) {
      if (attributesAllowed && r.match(K.attributes)) {
        if (bodies) encodedAttributes = r.encodedValue();
        else r.skipValue();
        attributesAllowed = false;
        continue;
      }
      attributesAllowed = false;
      let found = false;
      for (let o = next; o < SEND_OPTIONAL_STRINGS.length; o++) {
        if (!r.match(K.optional[o]!)) continue;
        m[SEND_OPTIONAL_STRINGS[o]!] = r.string();
        next = o + 1;
        found = true;
        break;
      }
      if (!found) return undefined;
    }
    if (r.failed) return undefined;
    messages.push(m);
    if (bodies && encodedBody) bodies.set(id, encodedAttributes ? { encodedBody, encodedAttributes } : { encodedBody });
  }
  if (r.failed || r.pos !== bytes.length) return undefined;
  return { offset, epoch, payload: { type: 'send', ts, queue, messages } };
}

/**
 * A send record's entry with every message's `body` left empty and its `attributes` left out;
 * undefined if `bytes` is not encodeSendEntry's encoding of a send (or is cut short).
 */
export function skimSendEntry(bytes: Buffer): LogEntry | undefined {
  return skim(bytes, undefined);
}

/**
 * Every message's body and attributes in a send record, still encoded (views into `bytes`), by
 * message id: what a receive answer copies as they are. Undefined if `bytes` is not
 * encodeSendEntry's encoding of a send.
 */
export function skimSendBodies(bytes: Buffer): Map<string, EncodedBody> | undefined {
  const bodies = new Map<string, EncodedBody>();
  return skim(bytes, bodies) ? bodies : undefined;
}
