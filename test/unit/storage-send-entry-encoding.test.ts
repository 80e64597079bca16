/**
 * The hand-written encoding of a send's log record reads back (with the log's own reader) exactly
 * as msgpackr's encoding of the same record does: any messages, any optional fields, any text.
 */
import t from 'tap';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { SEND_MESSAGE_FIELDS, decodeLogEntry, encodeLogEntry, type LogEntry } from '@conveyor/backend-node';
import { sendEntry } from '../support/send-entries.ts';

const generic = new Packr({ useRecords: true, mapsAsObjects: true });
const viaMsgpackr = (entry: LogEntry): unknown => decodeLogEntry(Buffer.from(generic.pack(entry)));

t.test('any send record reads back as msgpackr encodes it', async (t) => {
  fc.assert(
    fc.property(sendEntry, (entry) => {
      const decoded = decodeLogEntry(encodeLogEntry(entry));
      t.same(decoded, viaMsgpackr(entry));
      t.same(decoded, entry);
    }),
    { numRuns: 200 },
  );
});

t.test('every field a message has is written', async (t) => {
  const full: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(SEND_MESSAGE_FIELDS)) {
    full[name] = kind === 'number' ? 1234567 : kind === 'string' ? `value of ${name} ✓` : { colour: { DataType: 'String', StringValue: 'teal' } };
  }
  const entry = { offset: 7, epoch: 2, payload: { type: 'send', ts: 1_800_000_000_000, queue: '000000000000:q', messages: [full, { ...full, seq: 1 }] } } as unknown as LogEntry;
  const decoded = decodeLogEntry(encodeLogEntry(entry));
  t.same(decoded, viaMsgpackr(entry));
  t.same(Object.keys((decoded.payload as unknown as { messages: Array<Record<string, unknown>> }).messages[0]!).sort(), Object.keys(SEND_MESSAGE_FIELDS).sort(), 'with every field');
});

t.test('a send record with a field of another type is left to msgpackr whole, nothing changed', async (t) => {
  const good = { seq: 1, id: 'a', body: 'b', md5OfBody: 'm', delayMs: 0 };
  const odd: Array<Record<string, unknown>> = [{ ...good, delayMs: undefined }, { ...good, seq: '1' }, { ...good, body: Buffer.from('b') }, { ...good, groupId: 7 }, { ...good, attributes: 'none' }];
  for (const message of odd) {
    const entry = { offset: 1, epoch: 1, payload: { type: 'send', ts: 5, queue: 'q', messages: [good, message] } } as unknown as LogEntry;
    t.same(decodeLogEntry(encodeLogEntry(entry)), viaMsgpackr(entry), `as msgpackr writes it: ${JSON.stringify(message)}`);
  }
});

t.test('other records still go through msgpackr, each in a buffer of its own', async (t) => {
  const entry: LogEntry = { offset: 3, epoch: 1, payload: { type: 'delete', ts: 5, queue: 'q', seqs: [1, 2, 3] } };
  const bytes = encodeLogEntry(entry);
  t.same(decodeLogEntry(bytes), entry);
  const again = encodeLogEntry(entry);
  t.not(bytes.buffer === again.buffer && bytes.byteOffset === again.byteOffset, true, 'a second encoding does not reuse the first one’s bytes');
});
