// MD5OfMessageBody / MD5OfMessageAttributes against the vectors in SQS-REFERENCE.md §1.4, plus an
// independent byte-by-byte encoder for the cases the reference describes but records no vector for.
import { createHash } from 'node:crypto';
import t from 'tap';
import fc from 'fast-check';
import { md5OfBody, md5OfMessageAttributes } from '@conveyor/client-sdk/wire';
import type { MessageAttributes } from '@conveyor/client-sdk/wire';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

const str = (value: string, dataType = 'String') => ({ DataType: dataType, StringValue: value });
const bin = (bytes: number[] | Uint8Array, dataType = 'Binary') => ({ DataType: dataType, BinaryValue: Uint8Array.from(bytes) });

/** The algorithm as §1.4 words it, written separately from md5.ts so the two can disagree. */
function referenceMd5(attributes: MessageAttributes): string {
  const chunks: number[] = [];
  const pushLen = (n: number) => chunks.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const pushBytes = (b: Uint8Array) => {
    pushLen(b.length);
    chunks.push(...b);
  };
  const utf8 = (s: string) => new TextEncoder().encode(s);
  for (const name of Object.keys(attributes).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const attr = attributes[name]!;
    pushBytes(utf8(name));
    pushBytes(utf8(attr.DataType));
    if (attr.DataType.startsWith('Binary')) {
      chunks.push(2);
      pushBytes(attr.BinaryValue!);
    } else {
      chunks.push(1);
      pushBytes(utf8(attr.StringValue!));
    }
  }
  return createHash('md5').update(Uint8Array.from(chunks)).digest('hex');
}

t.test('md5OfBody', async (t) => {
  t.test('recorded vector {"message_index":1}', async (t) => {
    t.equal(md5OfBody('{"message_index":1}'), '4504dd781f625d681c31cda87e260702');
  });

  t.test('well-known MD5 vectors', async (t) => {
    t.equal(md5OfBody('The quick brown fox jumps over the lazy dog'), '9e107d9d372bb6826bd81d3542a419d6');
    t.equal(md5OfBody('hello'), '5d41402abc4b2a76b9719d911017c592');
  });

  t.test('hashes the UTF-8 bytes (multi-byte and astral characters)', async (t) => {
    const body = 'h\u00e9llo \u20ac \u{1F600}';
    t.equal(md5OfBody(body), 'b69235094d40d8cc2b1e0ae5e0abdb1c');
    t.not(md5OfBody(body), createHash('md5').update(Buffer.from(body, 'latin1')).digest('hex'), 'not latin1');
    t.not(md5OfBody(body), createHash('md5').update(Buffer.from(body, 'utf16le')).digest('hex'), 'not UTF-16');
  });

  t.test('is lower-case hex of 32 characters', async (t) => {
    t.match(md5OfBody('x'), /^[0-9a-f]{32}$/);
  });
});

t.test('md5OfMessageAttributes: vectors from SQS-REFERENCE.md §1.4', async (t) => {
  t.test('{"test-key": "test-value"}', async (t) => {
    t.equal(md5OfMessageAttributes({ 'test-key': str('test-value') }), 'befa18540a897f7d022bf07057754a03');
  });

  t.test('{"test-key", "test-key-alt"}', async (t) => {
    t.equal(
      md5OfMessageAttributes({ 'test-key': str('test-value'), 'test-key-alt': str('test-value-alt') }),
      '2256c3b617e2b4b3ae4f2d455dcf54d0',
    );
  });

  t.test('{"attribName1": "attribValue 1"}', async (t) => {
    t.equal(md5OfMessageAttributes({ attribName1: str('attribValue 1') }), '19e27d4e946b072f3f58da80d94fd778');
  });

  t.test('recorded from AWS: {General, Hello, Help.Me}', async (t) => {
    t.equal(
      md5OfMessageAttributes({ General: str('Kenobi'), Hello: str('There'), 'Help.Me': str('Me') }),
      '4c360f3fdafd970e05fae2f149d997f5',
    );
  });

  t.test('recorded from AWS: received with only {General, Hello}', async (t) => {
    t.equal(md5OfMessageAttributes({ General: str('Kenobi'), Hello: str('There') }), 'fca026605781cb4126a1e9044df24232');
  });

  t.test('recorded from AWS: received with only {Hello}', async (t) => {
    t.equal(md5OfMessageAttributes({ Hello: str('There') }), 'a311262e065454b75da111d535b8dacd');
  });

  t.test('insertion order does not matter (names are sorted)', async (t) => {
    t.equal(
      md5OfMessageAttributes({ 'Help.Me': str('Me'), Hello: str('There'), General: str('Kenobi') }),
      '4c360f3fdafd970e05fae2f149d997f5',
    );
    t.equal(
      md5OfMessageAttributes({ 'test-key-alt': str('test-value-alt'), 'test-key': str('test-value') }),
      '2256c3b617e2b4b3ae4f2d455dcf54d0',
    );
  });

  t.test('the reference encoder in this file agrees with the recorded vectors', async (t) => {
    t.equal(referenceMd5({ General: str('Kenobi'), Hello: str('There'), 'Help.Me': str('Me') }), '4c360f3fdafd970e05fae2f149d997f5');
    t.equal(referenceMd5({ 'test-key': str('test-value') }), 'befa18540a897f7d022bf07057754a03');
  });
});

t.test('md5OfMessageAttributes: Binary, Number and custom type labels', async (t) => {
  t.test('Binary uses transport byte 2 and hashes the raw bytes', async (t) => {
    const attrs = { bin: bin([0x00, 0x01, 0x02, 0xff]) };
    t.equal(md5OfMessageAttributes(attrs), 'f6f282f22090666a21841eeaf6665b42');
    t.equal(md5OfMessageAttributes(attrs), referenceMd5(attrs));
  });

  t.test('Binary with a custom label (Binary.gif)', async (t) => {
    const gif = { img: bin(Buffer.from('GIF89a'), 'Binary.gif') };
    t.equal(md5OfMessageAttributes(gif), '09558020106cf0212b25dd7904bf2dfe');
    t.equal(md5OfMessageAttributes(gif), referenceMd5(gif));
    t.not(md5OfMessageAttributes(gif), md5OfMessageAttributes({ img: bin(Buffer.from('GIF89a')) }), 'the label is hashed');
  });

  t.test('a Binary value hashes differently from a String value of the same bytes', async (t) => {
    const asBinary = md5OfMessageAttributes({ a: { DataType: 'Binary', BinaryValue: Buffer.from('abc') } });
    const asString = md5OfMessageAttributes({ a: { DataType: 'Binary', StringValue: 'abc' } });
    t.not(asBinary, asString, 'transport byte 2 vs 1');
  });

  t.test('a Buffer and a plain Uint8Array with the same bytes hash alike', async (t) => {
    t.equal(
      md5OfMessageAttributes({ a: { DataType: 'Binary', BinaryValue: Buffer.from([9, 8, 7]) } }),
      md5OfMessageAttributes({ a: { DataType: 'Binary', BinaryValue: new Uint8Array([9, 8, 7]) } }),
    );
  });

  t.test('Number uses transport byte 1 and hashes the value text', async (t) => {
    t.equal(md5OfMessageAttributes({ n: str('42', 'Number') }), '30e7543857de47826ea2a48bbec32fd7');
  });

  t.test('Number.float: the full data type, label included, is hashed', async (t) => {
    t.equal(md5OfMessageAttributes({ n: str('3.14', 'Number.float') }), '6b809f7f11691f83b0f8292159dc21bf');
    t.not(md5OfMessageAttributes({ n: str('3.14', 'Number.float') }), md5OfMessageAttributes({ n: str('3.14', 'Number') }));
  });

  t.test('String.json custom label', async (t) => {
    t.equal(md5OfMessageAttributes({ s: str('{"a":1}', 'String.json') }), '4701f8b0a492b0e0988466cd1cfba753');
  });

  t.test('String, Number and Binary together, with non-ASCII values', async (t) => {
    const attrs = {
      s: str('h\u00e9llo \u20ac \u{1F600}'),
      n: str('-1.5e3', 'Number'),
      b: bin([0xde, 0xad, 0xbe, 0xef]),
    };
    t.equal(md5OfMessageAttributes(attrs), '1d962482a225e57ccfc0a1a078d4ad43');
  });

  t.test('the value matters, the name matters', async (t) => {
    const base = md5OfMessageAttributes({ Hello: str('There') });
    t.not(md5OfMessageAttributes({ Hello: str('there') }), base);
    t.not(md5OfMessageAttributes({ hello: str('There') }), base);
  });
});

t.test('md5OfMessageAttributes: no attributes gives undefined', async (t) => {
  t.equal(md5OfMessageAttributes(undefined), undefined);
  t.equal(md5OfMessageAttributes({}), undefined);
});

const attrName = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const attrValue = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).map((s) => str(s)),
  fc.integer().map((n) => str(String(n), 'Number')),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => bin(b)),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => bin(b, 'Binary.bin')),
);
const attributesArb = fc.dictionary(attrName, attrValue, { minKeys: 1, maxKeys: 10 });

t.test('property: the digest does not depend on key insertion order', async (t) => {
  fc.assert(
    fc.property(attributesArb, fc.integer(), (attrs, shuffleSeed) => {
      const entries = Object.entries(attrs);
      // Deterministic shuffle driven by the generated seed.
      let s = shuffleSeed >>> 0;
      for (let i = entries.length - 1; i > 0; i--) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const j = s % (i + 1);
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      const reversed = Object.fromEntries([...entries].reverse());
      const shuffled = Object.fromEntries(entries);
      const expected = md5OfMessageAttributes(attrs);
      return md5OfMessageAttributes(shuffled) === expected && md5OfMessageAttributes(reversed) === expected;
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass('held for 300 runs');
});

t.test('property: agrees with the independent encoder of §1.4', async (t) => {
  fc.assert(
    fc.property(attributesArb, (attrs) => md5OfMessageAttributes(attrs) === referenceMd5(attrs)),
    { seed: SEED, numRuns: 300 },
  );
  t.pass('held for 300 runs');
});

t.test('property: dropping an attribute changes the digest (as on a filtered receive)', async (t) => {
  fc.assert(
    fc.property(fc.dictionary(attrName, attrValue, { minKeys: 2, maxKeys: 10 }), (attrs) => {
      const [first] = Object.keys(attrs);
      const rest = { ...attrs };
      delete rest[first!];
      return md5OfMessageAttributes(rest) !== md5OfMessageAttributes(attrs);
    }),
    { seed: SEED, numRuns: 200 },
  );
  t.pass('held for 200 runs');
});
