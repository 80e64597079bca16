// The hand-written ReceiveMessage answer writer against msgpackr: for any list of received
// messages both forms decode (decodeNative) to what msgpackr's own encoding decodes to, and the
// plain form is plain msgpack, read here by a small independent reader that knows no extensions.
import t from 'tap';
import fc from 'fast-check';
import { decodeNative, encodeNative, encodeNativeInternal, encodeReceiveAnswer, type AnswerMessage, type NativeReceivedMessage, type ReceivedSystemAttributes } from '@conveyor/client-sdk/wire';
import { readPlain } from '../support/msgpack-plain.ts';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

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
      // Bodies and attributes handed over as their send records encode them (plain msgpack) read the same.
      const encoded: AnswerMessage[] = messages.map(({ body, attributes, ...m }) => {
        const out: AnswerMessage = { ...m, body: '', encodedBody: Buffer.from(encodeNative(body)) };
        if (attributes !== undefined) out.encodedAttributes = Buffer.from(encodeNative(attributes));
        return out;
      });
      t.same(decodeNative(encodeReceiveAnswer(encoded, true)), expected);
      t.same(readPlain(encodeReceiveAnswer(encoded, false)), normalize(expected));
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
