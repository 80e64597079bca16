/** fast-check arbitraries of send log records: any messages, any optional fields, any text. */
import fc from 'fast-check';
import type { LogEntry } from '@conveyor/backend-node';

const text = fc.string({ unit: 'binary', maxLength: 300 });
const optionalText = fc.option(text, { nil: undefined });
// Any name but __proto__, which validation refuses (msgpackr renames it on decoding).
const attributes = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__'),
  fc.oneof(
    fc.record({ DataType: fc.constant('String'), StringValue: text }),
    fc.record({ DataType: fc.constant('Binary'), BinaryValue: fc.uint8Array({ maxLength: 40 }) }),
  ),
  { maxKeys: 3 },
);
export const sendMessage = fc
  .record({
    seq: fc.oneof(fc.nat(), fc.maxSafeNat()),
    id: fc.uuid(),
    body: fc.oneof(text, fc.string({ unit: 'grapheme', maxLength: 5_000 }), fc.constant('x'.repeat(70_000))),
    attributes: fc.option(attributes, { nil: undefined }),
    md5OfBody: fc.string({ minLength: 32, maxLength: 32 }),
    md5OfAttributes: optionalText,
    delayMs: fc.nat(900_000),
    groupId: optionalText,
    dedupId: optionalText,
    dedupKey: optionalText,
    sequenceNumber: optionalText,
    senderId: optionalText,
    traceHeader: optionalText,
  })
  // Absent fields are absent keys, as the leader makes messages.
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)));
export const sendEntry = fc.record({
  offset: fc.oneof(fc.nat(), fc.maxSafeNat()),
  epoch: fc.nat(),
  payload: fc.record({ type: fc.constant('send'), ts: fc.oneof(fc.nat(), fc.constant(1_800_000_000_123)), queue: text, messages: fc.array(sendMessage, { maxLength: 40 }) }),
}) as unknown as fc.Arbitrary<LogEntry>;
