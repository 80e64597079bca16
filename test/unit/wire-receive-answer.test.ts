// The hand-written ReceiveMessage answer writer against msgpackr: for any list of received
// messages both forms decode (decodeNative) to what msgpackr's own encoding decodes to, and the
// plain form is plain msgpack, read here by a small independent reader that knows no extensions.
import t from 'tap';
import fc from 'fast-check';
import { decodeNative, encodeNative, encodeNativeInternal, encodeReceiveAnswer, type NativeReceivedMessage, type ReceivedSystemAttributes } from '@conveyor/client-sdk/wire';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

/** Plain msgpack only (maps, arrays, strings, binaries, small integers): throws on anything else. */
function readPlain(bytes: Uint8Array): unknown {
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

/** Binaries come back from msgpackr as Buffers and from readPlain as Uint8Arrays: compare bytes. */
const normalize = (value: unknown): unknown =>
  value instanceof Uint8Array ? [...value]
    : Array.isArray(value) ? value.map(normalize)
    : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
    : value;

// Short and long, ASCII and not: every string header width and both string write paths.
const text = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 60, maxLength: 400 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'é'.repeat(n % 3) + 'x'.repeat(n)),
);
const systemAttributes: fc.Arbitrary<ReceivedSystemAttributes> = fc.record(
  {
    SenderId: text,
    SentTimestamp: fc.nat().map(String),
    ApproximateReceiveCount: fc.nat(99).map(String),
    ApproximateFirstReceiveTimestamp: fc.nat().map(String),
    SequenceNumber: fc.bigInt(0n, 10n ** 20n).map(String),
    MessageDeduplicationId: text,
    MessageGroupId: text,
    AWSTraceHeader: text,
    DeadLetterQueueSourceArn: text,
  },
  { requiredKeys: ['SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'] },
);
const attributeValue = fc.oneof(
  fc.record({ DataType: fc.constantFrom('String', 'Number', 'String.custom'), StringValue: text }),
  fc.record({ DataType: fc.constant('Binary'), BinaryValue: fc.uint8Array({ maxLength: 300 }) }),
);
const hex32 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 });
const message: fc.Arbitrary<NativeReceivedMessage> = fc
  .record({
    messageId: fc.uuid(),
    receiptHandle: text,
    body: text,
    md5OfBody: hex32,
    systemAttributes,
    // Any name but __proto__, which validation refuses (msgpackr renames it on decoding).
    attributes: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__'), attributeValue, { maxKeys: 4 }), { nil: undefined }),
    md5OfMessageAttributes: fc.option(hex32, { nil: undefined }),
  })
  .map((m) => {
    // Absent, not undefined: as the engine builds them.
    if (m.attributes === undefined) delete m.attributes;
    if (m.md5OfMessageAttributes === undefined) delete m.md5OfMessageAttributes;
    return m;
  });

t.test('both forms decode to what msgpackr encodes', async (t) => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 30 }), (messages) => {
      const expected = decodeNative(encodeNative({ messages }));
      t.same(decodeNative(encodeReceiveAnswer(messages, true)), expected);
      t.same(decodeNative(encodeReceiveAnswer(messages, false)), expected);
      t.same(decodeNative(encodeNativeInternal({ messages })), expected);
      t.same(readPlain(encodeReceiveAnswer(messages, false)), normalize(expected));
    }),
    { seed: SEED, numRuns: 150 },
  );
});

t.test('records: one definition per shape, then one byte per object', async (t) => {
  const base: NativeReceivedMessage = {
    messageId: 'id',
    receiptHandle: 'handle',
    body: 'body',
    md5OfBody: 'md5',
    systemAttributes: { SentTimestamp: '1', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '2' },
  };
  const one = encodeReceiveAnswer([base], true);
  const two = encodeReceiveAnswer([base, base], true);
  const plainOne = encodeReceiveAnswer([base], false);
  const plainTwo = encodeReceiveAnswer([base, base], false);
  // The second message adds its values and two record ids (message, system attributes), no keys.
  t.equal(two.length - one.length, 2 + valuesBytes(base));
  t.ok(plainTwo.length - plainOne.length > two.length - one.length, 'a record is smaller than a map');
});

/** Bytes the values of `base` take (all fixstr): every string plus its one-byte header. */
function valuesBytes(m: NativeReceivedMessage): number {
  const strings = [m.messageId, m.receiptHandle, m.body, m.md5OfBody, m.systemAttributes.SentTimestamp, m.systemAttributes.ApproximateReceiveCount, m.systemAttributes.ApproximateFirstReceiveTimestamp];
  return strings.reduce((n, s) => n + 1 + s.length, 0);
}

t.test('more shapes than record ids: the rest are written as maps, and read the same', async (t) => {
  // 2^6 sets of the optional system attributes, with and without message attributes: 128 shapes.
  const optional = ['SenderId', 'SequenceNumber', 'MessageDeduplicationId', 'MessageGroupId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn'] as const;
  const messages: NativeReceivedMessage[] = [];
  for (let mask = 0; mask < 64; mask++) {
    for (const withAttributes of [false, true]) {
      const systemAttributes: ReceivedSystemAttributes = { SentTimestamp: String(mask), ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '3' };
      optional.forEach((key, i) => {
        if (mask & (1 << i)) systemAttributes[key] = `${key}-${mask}`;
      });
      const m: NativeReceivedMessage = { messageId: `m${mask}`, receiptHandle: `h${mask}`, body: `b${mask}`, md5OfBody: 'x', systemAttributes };
      if (withAttributes) m.attributes = { a: { DataType: 'String', StringValue: 'v' } };
      messages.push(m);
    }
  }
  const expected = decodeNative(encodeNative({ messages }));
  t.same(decodeNative(encodeReceiveAnswer(messages, true)), expected);
  t.same(decodeNative(encodeReceiveAnswer([...messages, ...messages], true)), decodeNative(encodeNative({ messages: [...messages, ...messages] })));
});

t.test('a system attribute this writer does not know still goes through, as a map', async (t) => {
  const systemAttributes = { SentTimestamp: '1', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '2', Unknown: 'u' } as ReceivedSystemAttributes;
  const messages: NativeReceivedMessage[] = [{ messageId: 'i', receiptHandle: 'h', body: 'b', md5OfBody: 'm', systemAttributes }];
  t.same(decodeNative(encodeReceiveAnswer(messages, true)), { messages });
  t.same(readPlain(encodeReceiveAnswer(messages, false)), { messages });
});

t.test('an empty answer', async (t) => {
  t.same(decodeNative(encodeReceiveAnswer([], true)), { messages: [] });
  t.same(readPlain(encodeReceiveAnswer([], false)), { messages: [] });
});
