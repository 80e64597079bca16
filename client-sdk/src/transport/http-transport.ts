/**
 * The SDK's transport to the frontends' native API: `POST <endpoint>/native/<Action>` with msgpack
 * bodies over one keep-alive undici Pool per endpoint, every request signed with SigV4. A call picks
 * the preferred endpoint whose circuit breaker lets it through, moves to the next endpoint when one
 * does not answer, and retries retryable failures with full-jitter backoff until its deadline.
 */
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Pool } from 'undici';
import { RequestSigner, type Credentials } from '../auth/sigv4.ts';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from '../resilience/circuit-breaker.ts';
import { isRetryable, nextRetryDelayMs, type RetryOptions } from '../resilience/backoff.ts';
import { sleep, type Timers } from '../timers.ts';
import { rawPost } from './raw-post.ts';
import { BODY_DIGEST_HEADER, bodyDigest, ConveyorError, decodeNative, encodeNativeInternal, isErrorCode, isLongPoll, NATIVE_CONTENT_TYPE, NATIVE_RECORDS_ACCEPT, UNSIGNED_PAYLOAD, type NativeAction, type NativeActions, type NativeError } from '../wire/index.ts';

const gzipAsync = promisify(gzip);

/** The certificates NODE_EXTRA_CA_CERTS names, which Node trusts by default and a given `ca` would drop. */
function extraCaCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return []; // Node itself only warns about an unreadable file
  }
}

/** Everything the transport needs, resolved (see `resolveClientOptions`). */
export interface TransportOptions {
  endpoints: readonly string[];
  credentials: Credentials | undefined;
  region: string;
  /** Whether signatures cover the body; undefined: over http only (UNSIGNED-PAYLOAD over https). */
  signPayload?: boolean;
  /** Certificates trusted for https endpoints besides Node's own. */
  tlsCa?: Array<string | Buffer>;
  requestTimeoutMs: number;
  retry: RetryOptions;
  breaker: BreakerOptions;
  connectionsPerEndpoint: number;
  /** Bodies at least this large are gzipped; undefined sends everything uncompressed. */
  gzipMinBytes: number | undefined;
  timers: Timers;
  random: () => number;
  onBreakerChange?: (endpoint: string, state: BreakerState) => void;
}

/** Per-call settings. */
export interface CallOptions {
  /** Ends the call (and a long poll at the server) early. */
  signal?: AbortSignal;
  /** Extra time one attempt may take beyond the request timeout (a long poll's wait). */
  extraTimeoutMs?: number;
  /** Filled in with the answering server's request id (for errors about single entries of a batch). */
  meta?: { requestId?: string };
}

/** Failures that say the endpoint itself is unwell (rather than the queue behind it). */
const ENDPOINT_FAULTS = new Set(['RequestTimeout', 'InternalFailure']);

const REQUEST_ID_HEADER = 'x-amzn-requestid';

interface Endpoint {
  url: string;
  /** The URL's origin, which undici's dispatcher takes apart from the path. */
  origin: string;
  pool: Pool;
  /** Long polls get connections of their own, so sends never wait for one behind parked receives. */
  longPolls: Pool;
  breaker: CircuitBreaker;
}

/** Signed msgpack calls to the native API, with retries, failover and a breaker per endpoint. */
export class HttpTransport {
  readonly #endpoints: Endpoint[];
  readonly #signer: RequestSigner | undefined;
  #preferred = 0;
  #closed = false;
  /** Attempts that were retries, for observability and tests. */
  retries = 0;

  constructor(private readonly options: TransportOptions) {
    // Node's trusted certificates plus the given ones (a `ca` alone would replace Node's, NODE_EXTRA_CA_CERTS's too).
    const connect = options.tlsCa ? { ca: [...tls.rootCertificates, ...extraCaCertificates(), ...options.tlsCa] } : undefined;
    this.#endpoints = options.endpoints.map((url) => ({
      url,
      origin: new URL(url).origin,
      pool: new Pool(url, { connections: options.connectionsPerEndpoint, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connect }),
      // As many as there are long polls at once: a consumer's pollers are bounded, and each parks on one.
      longPolls: new Pool(url, { connections: null, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connect }),
      breaker: new CircuitBreaker(options.breaker, options.timers.now, (state) => options.onBreakerChange?.(url, state)),
    }));
    this.#signer = options.credentials ? new RequestSigner({ credentials: options.credentials, region: options.region }) : undefined;
  }

  /** Each endpoint's breaker state. */
  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries(this.#endpoints.map((e) => [e.url, e.breaker.state]));
  }

  /** Calls an action, retrying retryable failures across endpoints until the deadline. */
  async call<A extends NativeAction>(action: A, body: NativeActions[A]['request'], options: CallOptions = {}): Promise<NativeActions[A]['response']> {
    const { timers, retry } = this.options;
    const deadline = timers.now() + retry.totalDeadlineMs + (options.extraTimeoutMs ?? 0);
    // Encoded once: every retry sends the same bytes (and the same idempotency keys).
    const payload = await this.#encode(body);
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ConveyorError('ClientClosed', 'The client is closed.');
      const endpoint = this.#pick();
      if (!endpoint) throw new ConveyorError('CircuitOpen', `Every endpoint's circuit breaker is open (${this.#endpoints.map((e) => e.url).join(', ')}); failing fast.`);
      let error: unknown;
      try {
        const timeoutMs = Math.max(1, Math.min(this.options.requestTimeoutMs + (options.extraTimeoutMs ?? 0), deadline - timers.now()));
        const pool = isLongPoll(action, body) ? endpoint.longPolls : endpoint.pool;
        const result = await this.#once<A>(endpoint, pool, action, payload, timeoutMs, options.signal, options.meta);
        endpoint.breaker.recordSuccess();
        return result;
      } catch (caught) {
        error = caught;
      }
      if (options.signal?.aborted) {
        endpoint.breaker.releaseProbe();
        throw options.signal.reason ?? error;
      }
      if (error instanceof ConveyorError && (error.context.transport === true || ENDPOINT_FAULTS.has(error.code))) {
        endpoint.breaker.recordFailure();
        this.#preferred = (this.#endpoints.indexOf(endpoint) + 1) % this.#endpoints.length;
      } else {
        endpoint.breaker.recordSuccess(); // it answered, even if the answer is an error
      }
      if (!isRetryable(error)) throw error;
      const delay = nextRetryDelayMs(attempt, timers.now(), deadline, retry, this.options.random);
      if (delay === undefined) throw error;
      this.retries += 1;
      await sleep(timers, delay, options.signal);
    }
  }

  /** Stops the pools; calls in progress fail with ClientClosed. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#endpoints.flatMap((e) => [e.pool.close(), e.longPolls.close()]));
  }

  #pick(): Endpoint | undefined {
    const n = this.#endpoints.length;
    for (let i = 0; i < n; i++) {
      const endpoint = this.#endpoints[(this.#preferred + i) % n]!;
      if (endpoint.breaker.tryAcquire()) return endpoint;
    }
    return undefined;
  }

  async #encode(body: unknown): Promise<{ bytes: Buffer; gzipped: boolean }> {
    // Only Conveyor's frontends read what the SDK sends, so it can use msgpackr's records.
    const bytes = encodeNativeInternal(body);
    const min = this.options.gzipMinBytes;
    if (min === undefined || bytes.length < min) return { bytes, gzipped: false };
    return { bytes: await gzipAsync(bytes), gzipped: true };
  }

  async #headers(url: string, payload: { bytes: Buffer; gzipped: boolean }): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'content-type': NATIVE_CONTENT_TYPE, accept: NATIVE_RECORDS_ACCEPT };
    if (payload.gzipped) headers['content-encoding'] = 'gzip';
    if (!this.#signer) return headers;
    // Over TLS the body is left out of the signature unless asked (see ConveyorOptions.signPayload);
    // a signed body is covered by its BLAKE2b digest in a signed header, not by SigV4's SHA-256.
    headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
    if (this.options.signPayload ?? !url.startsWith('https:')) headers[BODY_DIGEST_HEADER] = bodyDigest(payload.bytes);
    // undici sets Host from the origin; the signed value is the same.
    const { host: _host, ...signed } = await this.#signer.sign({ method: 'POST', url, headers, body: payload.bytes });
    return signed;
  }

  async #once<A extends NativeAction>(endpoint: Endpoint, pool: Pool, action: A, payload: { bytes: Buffer; gzipped: boolean }, timeoutMs: number, signal: AbortSignal | undefined, meta: { requestId?: string } | undefined): Promise<NativeActions[A]['response']> {
    const path = `/native/${action}`;
    let res;
    try {
      res = await rawPost(pool, endpoint.origin, path, await this.#headers(`${endpoint.url}${path}`, payload), payload.bytes, timeoutMs, signal, REQUEST_ID_HEADER);
    } catch (error) {
      throw transportError(endpoint.url, action, error);
    }
    const requestId = res.header;
    if (meta && requestId !== undefined) meta.requestId = requestId;
    if (res.statusCode === 200) return decodeNative<NativeActions[A]['response']>(res.body);
    throw serverError(res.statusCode, res.body, { requestId, endpoint: endpoint.url, action });
  }
}

/** A server's error answer as a typed error carrying its code, request id and retryability. */
function serverError(status: number, answer: Buffer, context: { requestId: string | undefined; endpoint: string; action: string }): ConveyorError {
  try {
    const { error } = decodeNative<NativeError>(answer);
    if (isErrorCode(error.code)) return new ConveyorError(error.code, error.message, { ...error.context, ...context });
  } catch {
    // not a native error body (a proxy, or a server that failed before answering properly)
  }
  if (status === 429) return new ConveyorError('RequestThrottled', `HTTP ${status} from ${context.endpoint}.`, context);
  if (status === 503 || status === 502 || status === 504) return new ConveyorError('ServiceUnavailable', `HTTP ${status} from ${context.endpoint}.`, context);
  if (status >= 500) return new ConveyorError('InternalFailure', `HTTP ${status} from ${context.endpoint}.`, context);
  if (status === 403) return new ConveyorError('AccessDenied', `HTTP ${status} from ${context.endpoint}.`, context);
  return new ConveyorError('InvalidParameterValue', `HTTP ${status} from ${context.endpoint}.`, context);
}

/** A request that got no answer: refused, reset or timed out. Retryable; the send may have happened. */
function transportError(endpoint: string, action: string, error: unknown): ConveyorError {
  const code = (error as { code?: string } | null)?.code;
  const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  const reason = error instanceof Error ? error.message : String(error);
  const context = { endpoint, action, transport: true, cause: code };
  return timedOut
    ? new ConveyorError('RequestTimeout', `${action} got no answer from ${endpoint} in time (${reason}).`, context, { cause: error })
    : new ConveyorError('ServiceUnavailable', `${action} could not reach ${endpoint} (${reason}).`, context, { cause: error });
}
