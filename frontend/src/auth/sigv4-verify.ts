/**
 * AWS Signature Version 4 verification, pure: the caller passes the request as received (method,
 * raw path, raw query string, headers, the exact body bytes), the key lookup and the time. Both
 * forms are accepted: the `Authorization` header and presigned query parameters (`X-Amz-*`).
 *
 * The expected signature is computed from the canonical request exactly as the spec and the AWS
 * SDKs build it (path segments normalised and escaped twice, query sorted and escaped, signed
 * headers trimmed), then compared in constant time. The body is always hashed here, so a body
 * changed after signing fails even when the client sent `x-amz-content-sha256` — except that over
 * TLS a client may send `x-amz-content-sha256: UNSIGNED-PAYLOAD` (as S3 allows), leaving the body
 * to TLS's integrity: then the signature covers the request but not the body, and hashing the
 * body costs neither side anything. Over plain HTTP that is refused, unless a signed
 * `x-conveyor-content-blake2b512` header carries the body's BLAKE2b-512 (Conveyor's SDK: the same
 * cover as SigV4's SHA-256 at about half the cost), which is then checked against the body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BODY_DIGEST_HEADER, bodyDigest, ConveyorError, hexDigest, UNSIGNED_PAYLOAD } from '@conveyor/client-sdk/wire';

export interface SignedRequest {
  method: string;
  /** The path as sent (percent-encoded), without the query string. */
  path: string;
  /** The raw query string, without `?` (may be empty). */
  query: string;
  /** Header names in lower case; repeated headers joined with `,`. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
  /** Whether it came over TLS, which alone may carry an unsigned payload. */
  secure?: boolean;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

export interface VerifyOptions {
  lookup: (accessKeyId: string) => AccessKey | undefined;
  region: string;
  service: string;
  now: number;
  /** Allowed clock difference in either direction (AWS: 5 minutes). */
  maxSkewMs?: number;
}

export interface VerifiedCaller {
  accessKeyId: string;
  accountId: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const FIVE_MINUTES_MS = 5 * 60_000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Whitespace to trim or fold in a header value (most values have none). */
const SPACES = /^\s|\s$|\s\s|[^\S ]/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const incomplete = (message: string): ConveyorError => new ConveyorError('IncompleteSignature', message);
const mismatch = (message: string): ConveyorError => new ConveyorError('SignatureDoesNotMatch', message);

/** RFC 3986 escaping, as SigV4 wants it (encodeURIComponent leaves `!'()*` alone). */
function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sha256Hex(data: Uint8Array | string): string {
  return hexDigest('sha256', typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Query parameters as decoded pairs, in the order sent. */
export function parseQuery(query: string): Array<[string, string]> {
  if (query === '') return [];
  return query
    .split('&')
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
    });
}

/** The canonical URI: `.`/`..`/empty segments removed, then the (already encoded) path escaped again. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escape(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(pairs: ReadonlyArray<[string, string]>): string {
  return pairs
    .filter(([key]) => key.toLowerCase() !== 'x-amz-signature')
    .map(([key, value]) => [escape(key), escape(value)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

/** The parts every signature carries, whichever form it came in. */
interface SignatureParts {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string | undefined;
  /** Presigned only. */
  expiresSeconds?: string;
}

function parseCredential(credential: string): Pick<SignatureParts, 'accessKeyId' | 'scopeDate' | 'region' | 'service' | 'terminator'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'.`);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(scopeDate)) throw incomplete(`Invalid credential date '${scopeDate}'. Date must be in yyyyMMdd format.`);
  return { accessKeyId, scopeDate, region, service, terminator };
}

function fromAuthorizationHeader(authorization: string, headers: SignedRequest['headers']): SignatureParts {
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) throw incomplete(`Unsupported authorization algorithm '${algorithm.slice(0, 40)}': expected ${ALGORITHM}.`);
  const fields = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields.get(k));
  if (missing.length > 0) throw incomplete(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' '));
  return {
    ...parseCredential(fields.get('Credential')!),
    signedHeaders: fields.get('SignedHeaders')!.split(';'),
    signature: fields.get('Signature')!,
    amzDate: headerValue(headers, 'x-amz-date'),
  };
}

type HeaderScope = Omit<SignatureParts, 'signature' | 'amzDate' | 'expiresSeconds'>;

/**
 * Parsed Authorization headers by everything before their final `Signature=` field: a client's
 * headers differ only in the signature from call to call (and in the date once a day).
 */
const headerCache = new Map<string, HeaderScope>();

/** As fromAuthorizationHeader, parsing only the signature when the rest was seen before. */
function fromAuthorizationHeaderCached(authorization: string, headers: SignedRequest['headers']): SignatureParts {
  const at = authorization.lastIndexOf('Signature=');
  const prefix = at > 0 ? authorization.slice(0, at) : '';
  const signature = at > 0 ? authorization.slice(at + 'Signature='.length).trim() : '';
  // Cacheable: Signature is the last field, starts a field, and is not empty.
  const cacheable = signature !== '' && !signature.includes(',') && prefix.trimEnd().endsWith(',') && authorization.length <= 2_048;
  const seen = cacheable ? headerCache.get(prefix) : undefined;
  if (seen) return { ...seen, signature, amzDate: headerValue(headers, 'x-amz-date') };
  const parts = fromAuthorizationHeader(authorization, headers);
  if (cacheable) {
    if (headerCache.size >= 1_000) headerCache.clear(); // bounded, whatever headers callers make up
    const { signature: _signature, amzDate: _amzDate, expiresSeconds: _expires, ...scope } = parts;
    headerCache.set(prefix, Object.freeze({ ...scope, signedHeaders: Object.freeze([...scope.signedHeaders]) as string[] }));
  }
  return parts;
}

function fromQuery(params: ReadonlyMap<string, string>): SignatureParts {
  const missing = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature'].filter((k) => !params.get(k));
  if (missing.length > 0) throw incomplete(missing.map((k) => `AWS query-string parameters must include '${k}'.`).join(' '));
  if (params.get('X-Amz-Algorithm') !== ALGORITHM) throw incomplete(`Unsupported X-Amz-Algorithm: expected ${ALGORITHM}.`);
  return {
    ...parseCredential(params.get('X-Amz-Credential')!),
    signedHeaders: params.get('X-Amz-SignedHeaders')!.split(';'),
    signature: params.get('X-Amz-Signature')!,
    amzDate: params.get('X-Amz-Date'),
    expiresSeconds: params.get('X-Amz-Expires'),
  };
}

function parseAmzDate(text: string | undefined): number {
  const m = text === undefined ? null : AMZ_DATE.exec(text);
  if (!m) throw incomplete(`Missing or malformed X-Amz-Date '${text ?? ''}': expected yyyyMMddTHHmmssZ.`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) throw incomplete(`Malformed X-Amz-Date '${text}'.`);
  return ms;
}

function checkTime(parts: SignatureParts, signedAt: number, options: VerifyOptions): void {
  const skew = options.maxSkewMs ?? FIVE_MINUTES_MS;
  const stamp = parts.amzDate!;
  if (signedAt > options.now + skew) throw new ConveyorError('RequestExpired', `Signature not yet current: ${stamp} is still later than the server's time plus ${skew / 60_000} minutes.`);
  if (parts.expiresSeconds === undefined) {
    if (signedAt < options.now - skew) throw new ConveyorError('RequestExpired', `Signature expired: ${stamp} is now earlier than the server's time minus ${skew / 60_000} minutes.`);
    return;
  }
  const expires = /^\d{1,7}$/.test(parts.expiresSeconds) ? Number(parts.expiresSeconds) : NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) throw incomplete(`X-Amz-Expires must be an integer between 1 and ${MAX_PRESIGN_SECONDS}.`);
  if (options.now > signedAt + expires * 1000) throw new ConveyorError('RequestExpired', `Request has expired: it was signed at ${stamp} for ${expires} seconds.`);
}

/** The signing key for a day, region and service (cached: it changes once a day per key). */
const keyCache = new Map<string, Buffer>();
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\u0000${date}\u0000${region}\u0000${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (keyCache.size > 1_000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** Are the names non-empty, lower case and in (code unit) order, as SignedHeaders must list them? */
function sortedLowerCaseNames(names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '' || name !== name.toLowerCase()) return false;
    if (i > 0 && names[i - 1]! > name) return false;
  }
  return true;
}

/** Canonical URIs of recent paths: a frontend sees few distinct ones, and each costs two escapes. */
const pathCache = new Map<string, string>();
function cachedCanonicalPath(path: string): string {
  if (path.length > 256) return canonicalPath(path);
  let canonical = pathCache.get(path);
  if (canonical === undefined) {
    canonical = canonicalPath(path);
    if (pathCache.size >= 1_000) pathCache.clear(); // bounded, whatever paths callers make up
    pathCache.set(path, canonical);
  }
  return canonical;
}

/** Verifies a request's signature; the caller's key and account, or the ConveyorError SQS would answer. */
export function verifySignature(request: SignedRequest, options: VerifyOptions): VerifiedCaller {
  const pairs = parseQuery(request.query);
  const params = new Map(pairs);
  const authorization = headerValue(request.headers, 'authorization');
  let parts: SignatureParts;
  if (authorization !== undefined && authorization !== '') parts = fromAuthorizationHeaderCached(authorization, request.headers);
  else if (params.has('X-Amz-Algorithm') || params.has('X-Amz-Signature') || params.has('X-Amz-Credential')) parts = fromQuery(params);
  else throw new ConveyorError('MissingAuthenticationToken', 'Request is missing Authentication Token.');

  if (parts.terminator !== 'aws4_request') throw incomplete(`Credential should be scoped with a valid terminator: 'aws4_request', not '${parts.terminator}'.`);
  const signedAt = parseAmzDate(parts.amzDate);
  const signedHeaders = parts.signedHeaders;
  if (!signedHeaders.includes('host')) throw incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (parts.expiresSeconds === undefined && !signedHeaders.includes('x-amz-date')) throw incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  if (!sortedLowerCaseNames(signedHeaders)) {
    throw incomplete('SignedHeaders must be lower-case names, sorted and separated by semicolons.');
  }

  const key = options.lookup(parts.accessKeyId);
  if (!key) throw new ConveyorError('InvalidClientTokenId', 'The security token included in the request is invalid.');
  if (parts.region !== options.region) throw mismatch(`Credential should be scoped to a valid region, not '${parts.region}'.`);
  if (parts.service !== options.service) throw mismatch(`Credential should be scoped to correct service: '${options.service}'.`);
  if (parts.scopeDate !== parts.amzDate!.slice(0, 8)) throw mismatch(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parts.scopeDate}' != '${parts.amzDate!.slice(0, 8)}'.`);
  checkTime(parts, signedAt, options);

  const claimed = headerValue(request.headers, 'x-amz-content-sha256');
  let bodyHash: string;
  if (claimed === UNSIGNED_PAYLOAD) {
    const digest = headerValue(request.headers, BODY_DIGEST_HEADER);
    if (digest !== undefined) {
      // Conveyor's SDK: the body's BLAKE2b in a header the signature must cover.
      if (!signedHeaders.includes(BODY_DIGEST_HEADER)) throw incomplete(`'${BODY_DIGEST_HEADER}' must be a 'SignedHeader' in the AWS Authorization.`);
      if (digest !== bodyDigest(request.body)) throw mismatch(`The provided ${BODY_DIGEST_HEADER} header does not match the hash of the request body.`);
    } else if (!request.secure) {
      throw incomplete(`x-amz-content-sha256: ${UNSIGNED_PAYLOAD} is accepted only over HTTPS or with a signed ${BODY_DIGEST_HEADER}; over HTTP the hash of the body must be signed.`);
    }
    bodyHash = UNSIGNED_PAYLOAD;
  } else {
    bodyHash = sha256Hex(request.body);
    if (claimed !== undefined && claimed !== bodyHash) throw mismatch('The provided x-amz-content-sha256 header does not match the hash of the request body.');
  }

  const canonicalHeaders = signedHeaders.map((name) => {
    const value = headerValue(request.headers, name);
    if (value === undefined) throw mismatch(`The request signature names the header '${name}', which the request does not carry.`);
    return `${name}:${SPACES.test(value) ? value.trim().replace(/\s+/g, ' ') : value}\n`;
  });
  const canonicalRequest = [request.method.toUpperCase(), cachedCanonicalPath(request.path), pairs.length === 0 ? '' : canonicalQuery(pairs), canonicalHeaders.join(''), signedHeaders.join(';'), bodyHash].join('\n');
  const scope = `${parts.scopeDate}/${parts.region}/${parts.service}/aws4_request`;
  const stringToSign = [ALGORITHM, parts.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = createHmac('sha256', signingKey(key.secretAccessKey, parts.scopeDate, parts.region, parts.service)).update(stringToSign, 'utf8').digest();
  const given = /^[0-9a-f]{64}$/.test(parts.signature) ? Buffer.from(parts.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw mismatch('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return { accessKeyId: key.accessKeyId, accountId: key.accountId };
}
