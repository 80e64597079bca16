/**
 * What the SDK's signatures cover, seen by real servers (http and https with a self-signed
 * certificate): over https the body is left out (x-amz-content-sha256: UNSIGNED-PAYLOAD) unless
 * `signPayload` asks for it, over http it is always covered (its BLAKE2b-512 in a signed header),
 * and the frontend's verifier accepts each request as sent and refuses it with the body changed.
 * `tlsCa` makes a private certificate trusted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import t from 'tap';
import { Conveyor, encodeNative } from '@conveyor/client-sdk';
import { verifySignature } from '../../frontend/src/auth/sigv4-verify.ts';
import { TEST_CREDENTIALS } from '../support/credentials.ts';
import { thrown } from '../support/errors.ts';
import { makeTempDir, removeTempDir, selfSignedCertificate } from '../support/index.ts';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function recorder(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-msgpack', 'x-amzn-RequestId': 'rid' });
      res.end(encodeNative({ queues: [] }));
    });
  };
}

async function listen(t: { teardown(fn: () => unknown): void }, server: Server, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `${scheme}://127.0.0.1:${address.port}`;
}

const dir = makeTempDir('conveyor-sdk-tls-');
t.teardown(() => removeTempDir(dir));
const { keyFile, ca: cert } = selfSignedCertificate(dir);

const verify = (request: Seen, secure: boolean) =>
  verifySignature(
    { method: 'POST', path: request.url, query: '', headers: request.headers, body: request.body, secure },
    { lookup: (id) => (id === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS : undefined), region: 'us-east-1', service: 'sqs', now: Date.now() },
  );
const blake2b = (body: Buffer): string => createHash('blake2b512').update(body).digest('hex');
/** The request with one bit of its body flipped. */
const tampered = (request: Seen): Seen => {
  const body = Buffer.from(request.body);
  body[body.length - 1]! ^= 0x01;
  return { ...request, body };
};

t.test('over https the body is left out of the signature by default, and signed when asked', async (t) => {
  const seen: Seen[] = [];
  const url = await listen(t, createHttpsServer({ key: readFileSync(keyFile), cert }, recorder(seen)), 'https');

  const byDefault = new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS, tlsCa: cert.toString() });
  t.same(await byDefault.listQueues(), [], 'a private certificate given as tlsCa is trusted');
  await byDefault.close();
  const unsigned = seen.pop()!;
  t.equal(unsigned.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD', 'the body is not hashed');
  t.equal(unsigned.headers['x-conveyor-content-blake2b512'], undefined, 'nor digested');
  t.equal(verify(unsigned, true).accountId, TEST_CREDENTIALS.accountId, 'and the frontend verifies it over TLS');

  const signing = new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS, tlsCa: [cert], signPayload: true });
  await signing.listQueues();
  await signing.close();
  const hashed = seen.pop()!;
  t.equal(hashed.headers['x-conveyor-content-blake2b512'], blake2b(hashed.body), 'signPayload: true digests it over https too');
  t.match(String(hashed.headers.authorization), /SignedHeaders=[^,]*x-conveyor-content-blake2b512/, 'in a signed header');
  t.equal(verify(hashed, true).accountId, TEST_CREDENTIALS.accountId);
  t.equal(thrown(() => verify(tampered(hashed), true)).code, 'SignatureDoesNotMatch', 'a changed body is refused');

  const untrusting = new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS, retry: { maxAttempts: 1 } });
  await t.rejects(untrusting.listQueues(), 'without tlsCa the self-signed certificate is refused');
  await untrusting.close();
  t.equal(seen.length, 0, 'and nothing reached the server');
});

t.test('over http the body is always signed', async (t) => {
  const seen: Seen[] = [];
  const url = await listen(t, createHttpServer(recorder(seen)), 'http');
  const conveyor = new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS });
  await conveyor.listQueues();
  await conveyor.close();
  const [request] = seen;
  t.equal(request!.headers['x-conveyor-content-blake2b512'], blake2b(request!.body), 'the BLAKE2b-512 of the body');
  t.equal(request!.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD', 'in place of SigV4’s SHA-256');
  t.match(String(request!.headers.authorization), /SignedHeaders=[^,]*x-conveyor-content-blake2b512/, 'in a signed header');
  t.equal(verify(request!, false).accountId, TEST_CREDENTIALS.accountId, 'verified without TLS');
  t.equal(thrown(() => verify(tampered(request!), false)).code, 'SignatureDoesNotMatch', 'a changed body is refused');
  t.throws(() => new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS, signPayload: false }), { code: 'InvalidParameterValue', message: /signPayload.*https/ }, 'signPayload: false is refused for an http endpoint');
});
