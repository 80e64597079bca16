/**
 * A msgpack writer over a buffer sized beforehand, for the encodings the hot paths make by the
 * thousand (receive answers, send records): it knows their shapes, where msgpackr's generic
 * encoder looks every property up (megamorphic once a process packs many shapes).
 */

/**
 * Node's string writers without Buffer#write's argument handling (a third of a send record's
 * encoding went there): undocumented, but on Buffer.prototype since Node's early days.
 */
interface StringWriters {
  latin1Write(s: string, offset: number): number;
  utf8Write(s: string, offset: number): number;
}

/** Bytes of a msgpack str of `bytes` UTF-8 bytes, header included. */
export const msgpackStringSize = (bytes: number): number => bytes + (bytes < 32 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5);
/** Bytes of a number as MsgpackWriter.number writes it. */
export const msgpackNumberSize = (n: number): number => (n >>> 0 === n ? (n < 0x40 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) : 9);
/** Bytes of an array header of `n` items. */
export const msgpackArrayHeaderSize = (n: number): number => (n < 16 ? 1 : n < 0x10000 ? 3 : 5);

export class MsgpackWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  bytes(b: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    if (b.length <= 16) for (let i = 0; i < b.length; i++) buf[pos++] = b[i]!;
    else {
      buf.set(b, pos);
      pos += b.length;
    }
    this.pos = pos;
  }

  mapHeader(n: number): void {
    if (n < 16) this.buf[this.pos++] = 0x80 | n;
    else {
      this.buf[this.pos++] = 0xde;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    }
  }

  arrayHeader(n: number): void {
    const buf = this.buf;
    if (n < 16) buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.pos++] = 0xdc;
      buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xdd;
      buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  /**
   * A msgpack str. Short ASCII strings (ids, handles, digests, timestamps) are copied in a loop;
   * longer ones are written by Node's UTF-8 encoder behind a header sized for their largest
   * possible encoding (a wider header than needed is still valid msgpack).
   */
  string(s: string): void {
    const buf = this.buf;
    const length = s.length;
    let pos = this.pos;
    if (length < 64) {
      const start = pos + (length < 32 ? 1 : 2);
      let i = 0;
      for (; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === length) {
        if (length < 32) buf[pos] = 0xa0 | length;
        else {
          buf[pos] = 0xd9;
          buf[pos + 1] = length;
        }
        this.pos = start + length;
        return;
      }
    }
    const max = length * 3;
    if (max < 0x100) {
      const n = buf.write(s, pos + 2);
      buf[pos] = 0xd9;
      buf[pos + 1] = n;
      pos += 2 + n;
    } else if (max < 0x10000) {
      const n = buf.write(s, pos + 3);
      buf[pos] = 0xda;
      buf.writeUInt16BE(n, pos + 1);
      pos += 3 + n;
    } else {
      const n = buf.write(s, pos + 5);
      buf[pos] = 0xdb;
      buf.writeUInt32BE(n, pos + 1);
      pos += 5 + n;
    }
    this.pos = pos;
  }

  /** A number as msgpackr writes one: unsigned integers below 2^32 in their shortest form, any other as a float64. */
  number(n: number): void {
    const buf = this.buf;
    if (n >>> 0 === n) {
      // Positive fixints stop at 0x3f: where msgpackr's records are on, 0x40-0x7f are record ids.
      if (n < 0x40) buf[this.pos++] = n;
      else if (n < 0x100) {
        buf[this.pos] = 0xcc;
        buf[this.pos + 1] = n;
        this.pos += 2;
      } else if (n < 0x10000) {
        buf[this.pos] = 0xcd;
        buf.writeUInt16BE(n, this.pos + 1);
        this.pos += 3;
      } else {
        buf[this.pos] = 0xce;
        buf.writeUInt32BE(n, this.pos + 1);
        this.pos += 5;
      }
    } else {
      buf[this.pos] = 0xcb;
      buf.writeDoubleBE(n, this.pos + 1);
      this.pos += 9;
    }
  }

  /** A string whose UTF-8 size, `bytes` (Buffer.byteLength), was counted already: the exact header (see msgpackStringSize). */
  sizedString(s: string, bytes: number): void {
    const buf = this.buf;
    const pos = this.pos;
    if (bytes < 32) buf[pos] = 0xa0 | bytes;
    else if (bytes < 0x100) {
      buf[pos] = 0xd9;
      buf[pos + 1] = bytes;
    } else if (bytes < 0x10000) {
      buf[pos] = 0xda;
      buf.writeUInt16BE(bytes, pos + 1);
    } else {
      buf[pos] = 0xdb;
      buf.writeUInt32BE(bytes, pos + 1);
    }
    const start = pos + msgpackStringSize(bytes) - bytes;
    const writers = buf as unknown as StringWriters;
    // A UTF-8 size equal to the length means ASCII, whose latin1 bytes are its UTF-8 bytes: a plain copy.
    this.pos = start + (bytes === s.length ? writers.latin1Write(s, start) : writers.utf8Write(s, start));
  }
}

/** Record ids of msgpackr's one-byte form. */
export const FIRST_RECORD_ID = 0x40;
export const LAST_RECORD_ID = 0x7f;

/**
 * msgpackr's records, written by hand: the first object of a shape is preceded by a definition
 * (fixext 1 of type "r" with the record id, then the array of keys) and every object of that
 * shape is its id and then its values. Each answer defines its own, so it reads on its own.
 */
export class Records {
  private readonly ids = new Map<number, number>();
  private next = FIRST_RECORD_ID;

  /** `keysOf(shape)`: the encoded keys of objects of that shape, in the order their values are written. */
  constructor(private readonly keysOf: (shape: number) => readonly Uint8Array[]) {}

  /** Starts an object of `shape`; false when no record id is left (the caller writes a plain map). */
  begin(w: MsgpackWriter, shape: number): boolean {
    const id = this.ids.get(shape);
    if (id !== undefined) {
      w.buf[w.pos++] = id;
      return true;
    }
    if (this.next > LAST_RECORD_ID) return false;
    const fresh = this.next++;
    this.ids.set(shape, fresh);
    const keys = this.keysOf(shape);
    w.buf[w.pos++] = 0xd4;
    w.buf[w.pos++] = 0x72;
    w.buf[w.pos++] = fresh;
    w.arrayHeader(keys.length);
    for (const key of keys) w.bytes(key);
    return true;
  }
}
