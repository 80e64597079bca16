import t from 'tap';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { decodeMeta, encodeMeta, type MessageMeta } from '@conveyor/backend-node';

const optionalText = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });
const metaArb: fc.Arbitrary<MessageMeta> = fc
  .record({
    seq: fc.nat(),
    id: fc.uuid(),
    sentAt: fc.nat(),
    enqueuedAt: fc.nat(),
    visibleAt: fc.nat(),
    receiveCount: fc.nat(1000),
    firstReceiveAt: fc.nat(),
    receivedAt: fc.nat(),
    nonce: fc.nat(),
    md5OfBody: fc.string({ minLength: 32, maxLength: 32 }),
    logRef: fc.option(fc.nat(), { nil: undefined }),
    groupId: optionalText,
    dedupId: optionalText,
    sequenceNumber: optionalText,
    md5OfAttributes: optionalText,
    senderId: optionalText,
    traceHeader: optionalText,
    dlqSourceArn: optionalText,
  })
  // Absent optional fields are absent keys, as the state machine makes them.
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as unknown as MessageMeta);

t.test('a meta survives encoding with any mix of optional fields', async (t) => {
  fc.assert(
    fc.property(metaArb, (meta) => {
      t.same(decodeMeta(encodeMeta(meta)), meta);
    }),
    { numRuns: 300 },
  );
});

t.test('the positional form is smaller than a keyed map', async (t) => {
  const meta: MessageMeta = { seq: 7, id: '3f1c2a4e-9b7d-4c1e-8f2a-1b2c3d4e5f60', sentAt: 1, enqueuedAt: 1, visibleAt: 1, receiveCount: 0, firstReceiveAt: 0, receivedAt: 0, nonce: 0, md5OfBody: '9e107d9d372bb6826bd81d3542a419d6', logRef: 12 };
  t.ok(encodeMeta(meta).length < pack(meta).length * 0.7, `${encodeMeta(meta).length} bytes against ${pack(meta).length}`);
});

t.test('metas stored as keyed maps by older versions still load', async (t) => {
  const meta: MessageMeta = { seq: 3, id: 'a', sentAt: 1, enqueuedAt: 2, visibleAt: 3, receiveCount: 1, firstReceiveAt: 4, receivedAt: 5, nonce: 6, md5OfBody: 'm', groupId: 'g' };
  t.same(decodeMeta(pack(meta)), meta);
});

t.test('an unknown format is refused, not misread', async (t) => {
  t.throws(() => decodeMeta(pack([99, 1, 'a'])), /unknown message meta format 99/);
});
