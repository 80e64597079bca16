/**
 * The SigV4 verifier, pure: AWS's published test vectors, round trips with the SDK's signer
 * (any method, path, query and body), and one refusal per failure kind with SQS's code.
 */
import fc from 'fast-check';
import t from 'tap';
import { BODY_DIGEST_HEADER, RequestSigner, bodyDigest, encodeNative } from '@conveyor/client-sdk';
import { verifySignature, type AccessKey, type SignedRequest } from '../../frontend/src/auth/sigv4-verify.ts';
import { parseAccessKeys } from '../../frontend/src/auth/access-keys.ts';
import { thrown } from '../support/errors.ts';

// AWS's SigV4 test suite key (aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case).
const EXAMPLE: AccessKey = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', accountId: '123456789012' };
const EXAMPLE_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const KEY: AccessKey = { accessKeyId: 'AKIATESTKEY000000001', secretAccessKey: 'a-secret-that-is-long-enough', accountId: '000000000000' };
const lookup = (id: string): AccessKey | undefined => [EXAMPLE, KEY].find((k) => k.accessKeyId === id);

function vector(query: string, signature: string): SignedRequest {
  return {
    method: 'GET',
    path: '/',
    query,
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    },
    body: new Uint8Array(0),
  };
}

t.test('AWS test vectors verify', async (t) => {
  const options = { lookup, region: 'us-east-1', service: 'service', now: EXAMPLE_NOW };
  t.same(verifySignature(vector('', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'), options), { accessKeyId: 'AKIDEXAMPLE', accountId: '123456789012' }, 'get-vanilla');
  t.same(verifySignature(vector('Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'), options).accountId, '123456789012', 'get-vanilla-query-order-key-case (query sorted)');
  t.equal(thrown(() => verifySignature(vector('Param2=value2&Param1=value3', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'), options)).code, 'SignatureDoesNotMatch', 'a changed query value breaks it');
});

async function signed(request: { method: string; path: string; query: string; body: string | Uint8Array; headers?: Record<string, string> }, date = new Date(1_800_000_000_000), key: Pick<AccessKey, 'accessKeyId' | 'secretAccessKey'> = KEY, region = 'us-east-1'): Promise<SignedRequest> {
  const url = `http://127.0.0.1:9324${request.path}${request.query ? `?${request.query}` : ''}`;
  const headers = await new RequestSigner({ credentials: key, region }).sign({ method: request.method, url, headers: { 'content-type': 'application/x-amz-json-1.0', ...request.headers }, body: request.body }, date);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: request.method, path: request.path, query: request.query, headers: lower, body: typeof request.body === 'string' ? Buffer.from(request.body) : request.body };
}

const NOW = 1_800_000_000_000;
const verify = (request: SignedRequest, now = NOW) => verifySignature(request, { lookup, region: 'us-east-1', service: 'sqs', now });

t.test('whatever the SDK signs verifies; any change to the body does not', async (t) => {
  const segment = fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{1,12}$/).filter((s) => s !== '.' && s !== '..' && !/%(?![0-9A-F]{2})/.test(s));
  const arb = fc.record({
    method: fc.constantFrom('GET', 'POST'),
    path: fc.array(segment, { maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
    params: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/), fc.string({ maxLength: 8 })), { maxLength: 4 }),
    body: fc.uint8Array({ minLength: 1, maxLength: 200 }),
    flip: fc.nat(),
  });
  await fc.assert(
    fc.asyncProperty(arb, async ({ method, path, params, body, flip }) => {
      const query = new URLSearchParams(params).toString().replace(/\+/g, '%20');
      const request = await signed({ method, path, query, body });
      if (verify(request).accountId !== KEY.accountId) throw new Error('a signed request did not verify');
      const changed = Buffer.from(body);
      changed[flip % changed.length]! ^= 0x01;
      const code = thrown(() => verify({ ...request, body: changed })).code;
      if (code !== 'SignatureDoesNotMatch') throw new Error(`a changed body gave ${code}`);
      const { 'x-amz-content-sha256': _hash, ...headers } = request.headers;
      const without = thrown(() => verify({ ...request, headers, body: changed })).code;
      if (without !== 'SignatureDoesNotMatch') throw new Error(`a changed body without the hash header gave ${without}`);
    }),
    { numRuns: 200, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
  );
  t.pass('200 generated requests');
});

t.test('UNSIGNED-PAYLOAD leaves the body to TLS: accepted over HTTPS only, and never in place of a signed hash', async (t) => {
  const unsigned = await signed({ method: 'POST', path: '/', query: '', body: '{"QueueName":"q"}', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  t.equal(unsigned.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD', 'the signer keeps the value it was given');
  t.equal(verify({ ...unsigned, secure: true }).accountId, KEY.accountId, 'over TLS it verifies');
  t.equal(verify({ ...unsigned, secure: true, body: Buffer.from('{"QueueName":"other"}') }).accountId, KEY.accountId, 'the body is not covered: TLS keeps it intact');
  const overHttp = thrown(() => verify(unsigned));
  t.equal(overHttp.code, 'IncompleteSignature', 'over plain HTTP it is refused');
  t.match(overHttp.message, /only over HTTPS/, 'saying why');
  const hashed = await signed({ method: 'POST', path: '/', query: '', body: '{"QueueName":"q"}' });
  const downgraded = { ...hashed, secure: true, headers: { ...hashed.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } };
  t.equal(thrown(() => verify(downgraded)).code, 'SignatureDoesNotMatch', 'a signed hash swapped for UNSIGNED-PAYLOAD after signing fails');
});

t.test('a signed BLAKE2b digest header covers the body over plain HTTP, as SigV4’s SHA-256 would', async (t) => {
  const body = encodeNative({ queue: 'q', entries: [{ id: '0', body: 'hello' }] });
  const digested = await signed({ method: 'POST', path: '/native/SendMessageBatch', query: '', body, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', [BODY_DIGEST_HEADER]: bodyDigest(body) } });
  t.equal(verify(digested).accountId, KEY.accountId, 'accepted without TLS');
  t.equal(verify({ ...digested, secure: true }).accountId, KEY.accountId, 'and with it');
  const changed = Buffer.from(body);
  changed[changed.length - 1]! ^= 0x01;
  t.equal(thrown(() => verify({ ...digested, body: changed })).code, 'SignatureDoesNotMatch', 'a body changed after signing fails');
  t.equal(thrown(() => verify({ ...digested, body: changed, secure: true })).code, 'SignatureDoesNotMatch', 'over TLS too: a digest given is checked');
  const swapped = { ...digested, body: changed, headers: { ...digested.headers, [BODY_DIGEST_HEADER]: bodyDigest(changed) } };
  t.equal(thrown(() => verify(swapped)).code, 'SignatureDoesNotMatch', 'a digest replaced to match a changed body breaks the signature');
  // Added after signing, the digest is not covered: refused, not trusted.
  const unsigned = await signed({ method: 'POST', path: '/native/SendMessageBatch', query: '', body, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  const added = thrown(() => verify({ ...unsigned, headers: { ...unsigned.headers, [BODY_DIGEST_HEADER]: bodyDigest(body) } }));
  t.equal(added.code, 'IncompleteSignature', 'a digest header outside the signed headers is refused');
  t.match(added.message, /must be a 'SignedHeader'/, 'saying why');
});

t.test('each failure kind has SQS’s code', async (t) => {
  const good = await signed({ method: 'POST', path: '/', query: '', body: '{"QueueName":"q"}' });
  const withHeaders = (headers: Record<string, string | undefined>): SignedRequest => ({ ...good, headers: Object.fromEntries(Object.entries({ ...good.headers, ...headers }).filter(([, v]) => v !== undefined)) as Record<string, string> });
  const code = (request: SignedRequest, now = NOW): string => thrown(() => verify(request, now)).code;
  t.equal(code(withHeaders({ authorization: undefined })), 'MissingAuthenticationToken', 'no signature');
  t.equal(code(withHeaders({ authorization: 'AWS4-HMAC-SHA256 Credential=x' })), 'IncompleteSignature', 'parts missing');
  t.equal(code(withHeaders({ authorization: good.headers.authorization!.toString().replace('/aws4_request', '/aws5_request') })), 'IncompleteSignature', 'a wrong terminator');
  t.equal(code(withHeaders({ authorization: good.headers.authorization!.toString().replace(/Credential=[^/]+\/\d{8}/, 'Credential=AKIATESTKEY000000001') })), 'IncompleteSignature', 'a credential with too few parts');
  t.equal(code(withHeaders({ 'x-amz-date': '2027-01-15' })), 'IncompleteSignature', 'a malformed date');
  t.equal(code(await signed({ method: 'POST', path: '/', query: '', body: 'x' }, new Date(NOW), { accessKeyId: 'AKIANOBODY', secretAccessKey: KEY.secretAccessKey })), 'InvalidClientTokenId', 'an unknown key');
  t.equal(code(await signed({ method: 'POST', path: '/', query: '', body: 'x' }, new Date(NOW), { accessKeyId: KEY.accessKeyId, secretAccessKey: 'a-guessed-secret' })), 'SignatureDoesNotMatch', 'a wrong secret');
  t.equal(code(await signed({ method: 'POST', path: '/', query: '', body: 'x' }, new Date(NOW), KEY, 'eu-west-1')), 'SignatureDoesNotMatch', 'another region');
  t.equal(verify(withHeaders({ 'x-amz-trace': 'added later' })).accountId, KEY.accountId, 'a header that was not signed does not matter, but…');
  t.equal(code({ ...good, method: 'PUT' }), 'SignatureDoesNotMatch', '…a changed method does');
  t.equal(code({ ...good, path: '/000000000000/other' }), 'SignatureDoesNotMatch', 'so does a changed path');
  t.equal(code(withHeaders({ 'content-type': 'application/json' })), 'SignatureDoesNotMatch', 'and a changed signed header');
  t.equal(code(good, NOW + 5 * 60_000 + 1_000), 'RequestExpired', 'older than 5 minutes');
  t.equal(code(good, NOW - 5 * 60_000 - 1_000), 'RequestExpired', 'more than 5 minutes ahead');
  t.equal(verify(good, NOW + 4 * 60_000).accountId, KEY.accountId, 'within 5 minutes it is fine');
});

t.test('the keys file is checked entry by entry', async (t) => {
  t.equal(parseAccessKeys({ keys: [KEY] }).lookup(KEY.accessKeyId)?.accountId, KEY.accountId, 'a good file');
  t.throws(() => parseAccessKeys({}), /with at least one key/, 'no keys');
  t.throws(() => parseAccessKeys({ keys: [{ ...KEY, accountId: '42' }] }), /keys\[0\]\.accountId must be a 12-digit account id/, 'a bad account');
  t.throws(() => parseAccessKeys({ keys: [{ ...KEY, secretAccessKey: 'short' }] }), /secretAccessKey/, 'a short secret');
  t.throws(() => parseAccessKeys({ keys: [KEY, KEY] }), /listed twice/, 'a duplicate key');
});

t.test('a header seen before is checked as closely: only its signature may change, and it must still match', async (t) => {
  const options = { lookup, region: 'us-east-1', service: 'service', now: EXAMPLE_NOW };
  const good = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
  for (let i = 0; i < 3; i++) t.equal(verifySignature(vector('', good), options).accountId, '123456789012', `verifies, time ${i + 1}`);
  t.equal(thrown(() => verifySignature(vector('', good.replace(/^5/, '6')), options)).code, 'SignatureDoesNotMatch', 'another signature on the same header fails');
  t.equal(thrown(() => verifySignature(vector('', ''), options)).code, 'IncompleteSignature', 'an empty signature is still missing');
  t.equal(thrown(() => verifySignature(vector('', `${good}, Signature=`), options)).code, 'IncompleteSignature', 'a repeated, empty Signature field counts (the last one wins)');
  const request = vector('', good);
  const withDate = { ...request, headers: { ...request.headers, 'x-amz-date': '20150830T123601Z' } };
  t.equal(thrown(() => verifySignature(withDate, options)).code, 'SignatureDoesNotMatch', 'the date header is read afresh');
});
