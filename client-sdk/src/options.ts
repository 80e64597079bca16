/**
 * The client's options, their defaults (one frozen object, units in the names) and the one
 * function that validates and resolves them. Unknown or bad options are refused by name.
 */
import type { Credentials } from './auth/sigv4.ts';
import { DEFAULT_RETRY, type RetryOptions } from './resilience/backoff.ts';
import { DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './resilience/circuit-breaker.ts';
import type { BatcherOptions } from './batching/batcher.ts';
import { REAL_TIMERS, type Timers } from './timers.ts';
import { ConveyorError, LIMITS, MAX_NATIVE_BATCH } from './wire/index.ts';

/** Batching of one kind of request (sends, deletes or visibility changes). */
export interface BatchingOptions {
  /** Entries per request at most (the native API takes up to 1,000). */
  maxEntries?: number;
  /** Bytes of message data per request at most (sends only). */
  maxBytes?: number;
  /** How long the first entry may wait for others before its batch goes, while other batches are in flight. */
  lingerMs?: number;
  /** The same while no batch is in flight; 0 sends at the end of the current tick (a lone message does not wait). */
  idleLingerMs?: number;
  /** Requests of this kind in flight at once per queue. */
  maxInFlight?: number;
}

/** Options of `new Conveyor(...)`. Everything but `credentials` has a default. */
export interface ConveyorOptions {
  /** A frontend's URL, or several: calls go to the first healthy one and fail over to the others. Default http://127.0.0.1:9324. */
  endpoint?: string | readonly string[];
  /** The access key requests are signed with; `'none'` sends unsigned requests (only for frontends without authentication). */
  credentials: Credentials | 'none';
  /** The region in the signature's scope. Default us-east-1. */
  region?: string;
  /**
   * Whether signatures cover the body. By default they do over http and do not over https
   * (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, which frontends accept only over TLS): TLS already
   * keeps the body from being changed, and hashing every byte on both sides costs several times
   * TLS's own encryption. A covered body's BLAKE2b-512 goes in a signed header
   * (`x-conveyor-content-blake2b512`, which frontends check), about twice as fast as SigV4's
   * SHA-256. `true` signs bodies over https too (needed when a proxy terminates TLS in front of
   * frontends not started with `--trust-proxy`); `false` needs https endpoints.
   */
  signPayload?: boolean;
  /** PEM certificates to trust for https endpoints besides Node's own (a private CA, a self-signed frontend). */
  tlsCa?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** How long one attempt may wait for its answer (a long poll adds its wait). Default 10 s. */
  requestTimeoutMs?: number;
  /** Retries of retryable failures (see `RetryOptions`). */
  retry?: Partial<RetryOptions>;
  /** The circuit breaker every endpoint has (see `BreakerOptions`). */
  circuitBreaker?: Partial<BreakerOptions>;
  /** Batching of `send` calls. */
  sendBatching?: BatchingOptions;
  /** Batching of `delete` and `changeVisibility` calls. */
  ackBatching?: BatchingOptions;
  /** Keep-alive connections per endpoint. Default 16. */
  connectionsPerEndpoint?: number;
  /** Gzip request bodies of at least this many bytes; unset (the default) never compresses. */
  gzipMinBytes?: number;
  /** Called when an endpoint's circuit breaker changes state. */
  onBreakerChange?: (endpoint: string, state: BreakerState) => void;
  /** The clock and timers (tests pass a fake one). */
  timers?: Timers;
  /** A source of randomness in [0, 1) for backoff jitter. */
  random?: () => number;
}

/** Defaults of everything optional. */
export const CLIENT_DEFAULTS = Object.freeze({
  endpoint: 'http://127.0.0.1:9324',
  region: 'us-east-1',
  requestTimeoutMs: 10_000,
  connectionsPerEndpoint: 16,
  sendBatching: Object.freeze({ maxEntries: 1_000, maxBytes: LIMITS.maxBatchBytes, lingerMs: 2, idleLingerMs: 0, maxInFlight: 4 }),
  ackBatching: Object.freeze({ maxEntries: 1_000, maxBytes: LIMITS.maxBatchBytes, lingerMs: 2, idleLingerMs: 0, maxInFlight: 4 }),
});

export { MAX_NATIVE_BATCH };

/** Options after defaults and validation. */
export interface ResolvedOptions {
  endpoints: string[];
  credentials: Credentials | undefined;
  region: string;
  /** undefined: over http only. */
  signPayload: boolean | undefined;
  tlsCa: Array<string | Buffer> | undefined;
  requestTimeoutMs: number;
  retry: RetryOptions;
  breaker: BreakerOptions;
  sendBatching: BatcherOptions;
  ackBatching: BatcherOptions;
  connectionsPerEndpoint: number;
  gzipMinBytes: number | undefined;
  onBreakerChange: ((endpoint: string, state: BreakerState) => void) | undefined;
  timers: Timers;
  random: () => number;
}

const KNOWN = new Set(['endpoint', 'credentials', 'region', 'signPayload', 'tlsCa', 'requestTimeoutMs', 'retry', 'circuitBreaker', 'sendBatching', 'ackBatching', 'connectionsPerEndpoint', 'gzipMinBytes', 'onBreakerChange', 'timers', 'random']);

function bad(option: string, reason: string): ConveyorError {
  return new ConveyorError('InvalidParameterValue', `Option ${option} is invalid: ${reason}`, { parameter: option });
}

function positive(option: string, value: number, { integer = true, zero = false, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (typeof value !== 'number' || Number.isNaN(value) || (integer && !Number.isInteger(value)) || value < (zero ? 0 : 1) || value > max) {
    throw bad(option, `expected ${integer ? 'an integer' : 'a number'} ${zero ? '>= 0' : '>= 1'}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}, got ${String(value)}.`);
  }
  return value;
}

function batching(name: string, given: BatchingOptions | undefined, defaults: BatcherOptions): BatcherOptions {
  for (const key of Object.keys(given ?? {})) if (!['maxEntries', 'maxBytes', 'lingerMs', 'idleLingerMs', 'maxInFlight'].includes(key)) throw bad(`${name}.${key}`, 'unknown option.');
  return {
    maxEntries: positive(`${name}.maxEntries`, given?.maxEntries ?? defaults.maxEntries, { max: MAX_NATIVE_BATCH }),
    maxBytes: positive(`${name}.maxBytes`, given?.maxBytes ?? defaults.maxBytes),
    lingerMs: positive(`${name}.lingerMs`, given?.lingerMs ?? defaults.lingerMs, { integer: false, zero: true }),
    idleLingerMs: positive(`${name}.idleLingerMs`, given?.idleLingerMs ?? defaults.idleLingerMs ?? 0, { integer: false, zero: true }),
    maxInFlight: positive(`${name}.maxInFlight`, given?.maxInFlight ?? defaults.maxInFlight),
  };
}

/** Validates the options, fills in defaults and names the first bad field. */
export function resolveClientOptions(options: ConveyorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw bad('options', 'expected an object.');
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw bad(key, `unknown option (known: ${[...KNOWN].join(', ')}).`);
  const endpoints = typeof options.endpoint === 'string' ? [options.endpoint] : [...(options.endpoint ?? [CLIENT_DEFAULTS.endpoint])];
  if (endpoints.length === 0) throw bad('endpoint', 'at least one endpoint is needed.');
  for (const url of endpoints) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw bad('endpoint', `"${url}" is not a URL.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad('endpoint', `"${url}" must be http or https.`);
  }
  const credentials = options.credentials;
  if (credentials === undefined) throw bad('credentials', "an access key is required (or 'none' for a frontend without authentication).");
  if (credentials !== 'none' && (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string')) {
    throw bad('credentials', 'expected { accessKeyId, secretAccessKey } or the string none.');
  }
  const signPayload = options.signPayload;
  if (signPayload !== undefined && typeof signPayload !== 'boolean') throw bad('signPayload', `expected true or false, got ${String(signPayload)}.`);
  if (signPayload === false) {
    const plain = endpoints.find((url) => url.startsWith('http:'));
    if (plain !== undefined) throw bad('signPayload', `false needs https endpoints: frontends refuse unsigned bodies over plain HTTP ("${plain}").`);
  }
  const tlsCa = options.tlsCa === undefined ? undefined : typeof options.tlsCa === 'string' || Buffer.isBuffer(options.tlsCa) ? [options.tlsCa] : [...(options.tlsCa as ReadonlyArray<string | Buffer>)];
  if (tlsCa?.some((c) => typeof c !== 'string' && !Buffer.isBuffer(c))) throw bad('tlsCa', 'expected PEM text or a Buffer, or a list of them.');
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const breaker = { ...DEFAULT_BREAKER, ...options.circuitBreaker };
  return {
    endpoints: endpoints.map((u) => u.replace(/\/+$/, '')),
    credentials: credentials === 'none' ? undefined : credentials,
    region: options.region ?? CLIENT_DEFAULTS.region,
    signPayload,
    tlsCa,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs),
    retry: {
      maxAttempts: positive('retry.maxAttempts', retry.maxAttempts),
      baseDelayMs: positive('retry.baseDelayMs', retry.baseDelayMs, { zero: true }),
      maxDelayMs: positive('retry.maxDelayMs', retry.maxDelayMs, { zero: true }),
      totalDeadlineMs: positive('retry.totalDeadlineMs', retry.totalDeadlineMs),
    },
    breaker: {
      failureThreshold: positive('circuitBreaker.failureThreshold', breaker.failureThreshold),
      openMs: positive('circuitBreaker.openMs', breaker.openMs, { zero: true }),
    },
    sendBatching: batching('sendBatching', options.sendBatching, CLIENT_DEFAULTS.sendBatching),
    ackBatching: batching('ackBatching', options.ackBatching, CLIENT_DEFAULTS.ackBatching),
    connectionsPerEndpoint: positive('connectionsPerEndpoint', options.connectionsPerEndpoint ?? CLIENT_DEFAULTS.connectionsPerEndpoint),
    gzipMinBytes: options.gzipMinBytes === undefined ? undefined : positive('gzipMinBytes', options.gzipMinBytes, { zero: true }),
    onBreakerChange: options.onBreakerChange,
    timers: options.timers ?? REAL_TIMERS,
    random: options.random ?? Math.random,
  };
}
