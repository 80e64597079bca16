/** A small msgpack reader that knows no extensions, to check that an encoding is plain msgpack. */
/** Plain msgpack only (maps, arrays, strings, binaries, booleans, small integers): throws on anything else. */
export function readPlain(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const text = (n: number): string => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, (pos += n)));
  const bin = (n: number): Uint8Array => bytes.slice(pos, (pos += n));
  const u8 = (): number => view.getUint8(pos++);
  const u16 = (): number => ((pos += 2), view.getUint16(pos - 2));
  const u32 = (): number => ((pos += 4), view.getUint32(pos - 4));
  const map = (n: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      if (typeof key !== 'string') throw new Error('map key is not a string');
      out[key] = read();
    }
    return out;
  };
  const array = (n: number): unknown[] => Array.from({ length: n }, () => read());
  function read(): unknown {
    const b = u8();
    if (b < 0x80) return b;
    if (b < 0x90) return map(b & 0x0f);
    if (b < 0xa0) return array(b & 0x0f);
    if (b < 0xc0) return text(b & 0x1f);
    switch (b) {
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(u8());
      case 0xc5: return bin(u16());
      case 0xc6: return bin(u32());
      case 0xd9: return text(u8());
      case 0xda: return text(u16());
      case 0xdb: return text(u32());
      case 0xdc: return array(u16());
      case 0xdd: return array(u32());
      case 0xde: return map(u16());
      case 0xdf: return map(u32());
      default: throw new Error(`not plain msgpack: 0x${b.toString(16)} at ${pos - 1}`);
    }
  }
  const value = read();
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} bytes left over`);
  return value;
}
