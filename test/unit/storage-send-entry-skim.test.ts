/**
 * A replica's reading of send records for apply (decodeLogEntryForApply): the full decoding of
 * the same bytes with every body emptied and attributes left out; any other record, or a send
 * encoded by msgpackr, read in full; cut or altered bytes never read as something else.
 */
import t from 'tap';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeLogEntry, decodeLogEntryForApply, encodeLogEntry, type LogEntry } from '@conveyor/backend-node';
import { skimSendBodies, skimSendEntry } from '../../backend-node/src/storage/send-entry-skim.ts';
import { decodeNative } from '@conveyor/client-sdk/wire';
import { sendEntry } from '../support/send-entries.ts';

type Messages = Array<Record<string, unknown>>;
const messagesOf = (entry: LogEntry): Messages => (entry.payload as unknown as { messages: Messages }).messages;

/** What apply should see: the full decoding, bodies empty, no attributes. */
function withoutBodies(entry: LogEntry): LogEntry {
  const payload = { ...entry.payload, messages: messagesOf(entry).map(({ attributes: _attributes, ...m }) => ({ ...m, body: '' })) };
  return { ...entry, payload } as unknown as LogEntry;
}

t.test('any send record reads as its full decoding without bodies and attributes', async (t) => {
  fc.assert(
    fc.property(sendEntry, (entry) => {
      const bytes = encodeLogEntry(entry);
      const skimmed = decodeLogEntryForApply(bytes);
      t.same(skimmed, withoutBodies(decodeLogEntry(bytes)));
      t.ok(messagesOf(skimmed).every((m) => m.body === '' && !('attributes' in m)), 'no body or attributes kept');
    }),
    { numRuns: 200 },
  );
});

t.test('records it does not know are read in full', async (t) => {
  const records = new Packr({ useRecords: true, mapsAsObjects: true });
  const send = { offset: 9, epoch: 2, payload: { type: 'send', ts: 5, queue: 'q', messages: [{ seq: 1, id: 'a', body: 'hello', md5OfBody: 'm', delayMs: 0 }] } } as unknown as LogEntry;
  // Older data directories hold sends msgpackr wrote; they keep their bodies.
  t.same(decodeLogEntryForApply(Buffer.from(records.pack(send))), send);
  const del: LogEntry = { offset: 3, epoch: 1, payload: { type: 'delete', ts: 5, queue: 'q', seqs: [1, 2] } };
  t.same(decodeLogEntryForApply(encodeLogEntry(del)), del);
  // A message with a field of another type sends the whole record to msgpackr, bodies and all.
  const odd = { ...send, payload: { ...send.payload, messages: [{ seq: 1, id: 'a', body: 'hello', md5OfBody: 'm', delayMs: 0, groupId: 7 }] } } as unknown as LogEntry;
  t.same(decodeLogEntryForApply(encodeLogEntry(odd)), decodeLogEntry(encodeLogEntry(odd)));
});

t.test('cut or altered bytes are refused, or read as the full decoder reads them', async (t) => {
  fc.assert(
    fc.property(sendEntry, fc.nat(), fc.nat(255), (entry, at, byte) => {
      const bytes = encodeLogEntry(entry);
      const altered = Buffer.from(bytes);
      altered[at % altered.length] = byte;
      for (const candidate of [bytes.subarray(0, at % bytes.length), altered]) {
        const skimmed = skimSendEntry(candidate); // never throws: bounded by the buffer
        if (skimmed === undefined) continue; // the full decoder reads it (or refuses it)
        t.same(skimmed, withoutBodies(decodeLogEntry(candidate)));
      }
    }),
    { numRuns: 200 },
  );
});

t.test('a receive reads each message’s body and attributes still encoded, and they decode as the record does', async (t) => {
  fc.assert(
    fc.property(sendEntry, (entry) => {
      const bytes = encodeLogEntry(entry);
      const bodies = skimSendBodies(bytes);
      if (!bodies) throw new Error('the record was not skimmed');
      const messages = messagesOf(decodeLogEntry(bytes));
      t.equal(bodies.size, messages.length, 'every message');
      for (const m of messages) {
        const encoded = bodies.get(m.id as string)!;
        t.equal(decodeNative(encoded.encodedBody), m.body);
        t.same(encoded.encodedAttributes === undefined ? undefined : decodeNative(encoded.encodedAttributes), m.attributes);
      }
    }),
    { numRuns: 100 },
  );
  const odd = { offset: 1, epoch: 1, payload: { type: 'send', ts: 5, queue: 'q', messages: [{ seq: 1, id: 'a', body: 'b', md5OfBody: 'm', delayMs: 0, groupId: 7 }] } } as unknown as LogEntry;
  t.equal(skimSendBodies(encodeLogEntry(odd)), undefined, 'a record msgpackr wrote is not skimmed (the log decodes it)');
});
