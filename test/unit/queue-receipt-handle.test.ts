import t from 'tap';
import fc from 'fast-check';
import { MAX_NONCE, decodeReceiptHandle, encodeReceiptHandle, type ReceiptHandle } from '../../backend-node/src/queue/receipt-handle.ts';

// The token format, written the obvious way with a Buffer: the codec must agree with it exactly
// (handles already given out stay valid).
function referenceEncode(h: ReceiptHandle): string {
  const buf = Buffer.alloc(17);
  buf.writeUInt8(1, 0);
  buf.writeUInt32BE(h.queueId, 1);
  buf.writeUIntBE(h.seq, 5, 6);
  buf.writeUIntBE(h.nonce, 11, 6);
  return buf.toString('base64url');
}
function referenceDecode(text: string): ReceiptHandle | undefined {
  if (text.length !== 23 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64url');
  if (buf.length !== 17 || buf.readUInt8(0) !== 1) return undefined;
  return { queueId: buf.readUInt32BE(1), seq: buf.readUIntBE(5, 6), nonce: buf.readUIntBE(11, 6) };
}

const handle = fc.record({ queueId: fc.integer({ min: 0, max: 2 ** 32 - 1 }), seq: fc.integer({ min: 0, max: 2 ** 48 - 1 }), nonce: fc.integer({ min: 0, max: MAX_NONCE - 1 }) });

t.test('property: handles encode as the Buffer reference does and decode back', async (t) => {
  fc.assert(
    fc.property(handle, (h) => {
      const text = encodeReceiptHandle(h);
      return text === referenceEncode(h) && JSON.stringify(decodeReceiptHandle(text)) === JSON.stringify(h);
    }),
    { numRuns: 5_000 },
  );
  t.pass('5,000 handles, extremes included by fast-check');
});

t.test('property: any string is accepted or refused as the reference does', async (t) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=é ';
  const tokenLike = fc.array(fc.constantFrom(...alphabet), { minLength: 21, maxLength: 24 }).map((cs) => cs.join(''));
  // Valid handles with one character changed, and strings that start like a version-1 handle.
  const mutated = fc.tuple(handle, fc.nat(22), fc.constantFrom(...alphabet)).map(([h, i, c]) => {
    const text = referenceEncode(h);
    return text.slice(0, i) + c + text.slice(i + 1);
  });
  fc.assert(
    fc.property(fc.oneof(tokenLike, mutated, fc.string()), (text) => JSON.stringify(decodeReceiptHandle(text)) === JSON.stringify(referenceDecode(text))),
    { numRuns: 5_000 },
  );
  t.equal(decodeReceiptHandle(42), undefined, 'not a string');
  t.equal(decodeReceiptHandle(''), undefined);
});
