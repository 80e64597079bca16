/**
 * SigV4 authentication as a fastify hook: every request but the health and metrics probes must
 * carry a valid signature (header or presigned query) by a configured key; the verified key's
 * account becomes the caller. Failures are answered before any handler runs (so they have no
 * side effect), with SQS's codes, each a 403, in the request's protocol (msgpack on the native API).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConveyorError } from '@conveyor/client-sdk';
import { countAuthFailure } from '../http/observe.ts';
import { rawBodyOf } from '../http/raw-body.ts';
import type { AccessKeys } from './access-keys.ts';
import { verifySignature } from './sigv4-verify.ts';

export interface AuthenticationOptions {
  /** The accepted keys; undefined turns authentication off (every caller is `defaultAccount`). */
  keys: AccessKeys | undefined;
  /** Region of the credential scope (default us-east-1). */
  region?: string;
  defaultAccount: string;
  /** The clock (tests move it). */
  now?: () => number;
}

export interface Caller {
  accountId: string;
  /** Absent when authentication is off. */
  accessKeyId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, once authenticated. */
    caller?: Caller;
  }
}

/** Probes that answer without a signature. */
const PUBLIC_PATHS = new Set(['/health', '/metrics']);
const SERVICE = 'sqs';

/** Refused: counted, logged, and thrown to the error handler, which answers in the request's protocol. */
function reject(request: FastifyRequest, error: ConveyorError): never {
  countAuthFailure(request, error.code);
  request.log.info({ code: error.code, reason: error.message }, 'authentication failed');
  throw error;
}

export function registerAuthentication(app: FastifyInstance, options: AuthenticationOptions): void {
  const { keys } = options;
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const lookup = keys ? (id: string) => keys.lookup(id) : () => undefined;
  // A callback hook (no promise per request); what it throws goes to the error handler all the same.
  app.addHook('preHandler', (request, _reply, done) => {
    authenticate(request);
    done();
  });
  function authenticate(request: FastifyRequest): void {
    const q = request.url.indexOf('?');
    const path = q < 0 ? request.url : request.url.slice(0, q);
    if (PUBLIC_PATHS.has(path)) return;
    if (!keys) {
      request.caller = { accountId: options.defaultAccount };
      return;
    }
    try {
      const caller = verifySignature(
        { method: request.method, path, query: q < 0 ? '' : request.url.slice(q + 1), headers: request.headers, body: rawBodyOf(request), secure: request.protocol === 'https' },
        { lookup, region, service: SERVICE, now: now() },
      );
      request.caller = caller;
    } catch (error) {
      if (!(error instanceof ConveyorError)) throw error;
      reject(request, error);
    }
  }
}

/** The verified caller's account (every routed request has one once the hook ran). */
export function callerAccount(request: FastifyRequest): string {
  const caller = request.caller;
  if (!caller) throw new ConveyorError('MissingAuthenticationToken', 'Request is missing Authentication Token.');
  return caller.accountId;
}
