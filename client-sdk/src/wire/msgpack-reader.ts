/** Reading what MsgpackWriter and the hand-written encodings write. */

/** Node's string reader without Buffer#toString's argument handling (on Buffer.prototype since Node's early days). */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

/**
 * A msgpack reader over one buffer for the encodings Conveyor writes itself (the send records
 * of the log): it reads what it is asked for, skips or keeps as bytes what it is not, and
 * never throws: anything unexpected or cut short sets `failed`, for the caller to fall back to
 * msgpackr. Every step moves forward, so every loop over the buffer is bounded by its length.
 */
export class MsgpackReader {
  pos = 0;
  failed = false;
  constructor(readonly buf: Buffer) {}

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
