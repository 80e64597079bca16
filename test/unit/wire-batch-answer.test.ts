// The hand-written batch answer writer (SendMessageBatch, DeleteMessageBatch,
// ChangeMessageVisibilityBatch) against msgpackr: for any answer both forms
// decode (decodeNative) to what msgpackr's own encoding decodes to, undefined fields left out;
// the plain form is plain msgpack (read by an independent reader); an answer with a field the
// writer does not know is left to msgpackr whole.
import t from 'tap';
import fc from 'fast-check';
import { decodeNative, encodeNative, encodeNativeInternal, encodeBatchAnswer, type NativeBatchFailure, type NativeSendSuccess } from '@conveyor/client-sdk/wire';
import { readPlain } from '../support/msgpack-plain.ts';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

type Answer = { successful: NativeSendSuccess[]; failed: NativeBatchFailure[] };
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 120 }));
const success: fc.Arbitrary<NativeSendSuccess> = fc.record({
  id: text,
  messageId: fc.oneof(fc.uuid(), text),
  md5OfBody: fc.oneof(fc.string({ minLength: 32, maxLength: 32 }), text),
  md5OfAttributes: fc.option(text, { nil: undefined }),
  sequenceNumber: fc.option(fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), { nil: undefined }),
  duplicate: fc.option(fc.boolean(), { nil: undefined }),
});
const failure: fc.Arbitrary<NativeBatchFailure> = fc.record({ id: text, code: fc.constantFrom('InvalidMessageContents', 'InternalError'), message: text, senderFault: fc.boolean() });
// A delete's or a visibility change's success is its id alone.
const idOnly: fc.Arbitrary<NativeSendSuccess> = text.map((id) => ({ id }) as NativeSendSuccess);
const answer: fc.Arbitrary<Answer> = fc.record({ successful: fc.array(fc.oneof(success, idOnly), { maxLength: 300 }), failed: fc.array(failure, { maxLength: 3 }) });

/** What the answer reads as: fields that are undefined are absent. */
const defined = (a: Answer): unknown => JSON.parse(JSON.stringify(a));

t.test('any answer reads back as msgpackr encodes it, in records and in plain maps', async (t) => {
  fc.assert(
    fc.property(answer, (a) => {
      const expected = defined(a);
      t.same(decodeNative(encodeBatchAnswer(a, true)), expected);
      t.same(defined(decodeNative(encodeNativeInternal(a))), expected, 'as msgpackr’s own encoding reads');
      const plain = encodeBatchAnswer(a, false);
      t.same(decodeNative(plain), expected);
      t.same(readPlain(plain), expected, 'plain msgpack, read without extensions');
    }),
    { numRuns: 150, seed: SEED },
  );
});

t.test('a success entry with a field not known here, or of another type, leaves the answer to msgpackr', async (t) => {
  const good: NativeSendSuccess = { id: '0', messageId: 'm', md5OfBody: 'd' };
  const odd = [{ ...good, extra: 'x' }, { ...good, sequenceNumber: 7 }, { ...good, duplicate: 'yes' }, { ...good, id: 3 }, { id: '1', messageId: null }];
  for (const entry of odd) {
    const a = { successful: [good, entry as unknown as NativeSendSuccess], failed: [] };
    t.same(encodeBatchAnswer(a, true), encodeNativeInternal(a), `records: ${JSON.stringify(entry)}`);
    t.same(encodeBatchAnswer(a, false), encodeNative(a), `plain: ${JSON.stringify(entry)}`);
  }
});
