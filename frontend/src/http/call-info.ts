/**
 * What a request asks for (protocol, action, queue), filled in as it becomes known, for rate
 * limits, load shedding, metrics and the request's log line.
 */
import type { FastifyRequest } from 'fastify';
import type {} from '../auth/authenticate.ts'; // request.caller
import type { Slot } from '../core/admission.ts';
import type { Protocol } from '../observability/metrics.ts';
import { FORM_CONTENT_TYPE } from './raw-body.ts';

export interface CallInfo {
  protocol: Protocol;
  /** The action the caller named (unchecked until its handler is found). */
  action: string | undefined;
  queue?: string;
  /** The error code answered, if any. */
  errorCode?: string;
  /** The admission slot the request holds (load shedding), if any. */
  slot?: Slot;
  /** Refused by a rate limit or shed: counted, but logged only at debug (a flood must not flood the logs). */
  guarded?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    sqsCall?: CallInfo;
  }
}

/** Routes that are not SQS calls: never limited, shed or counted as requests. */
export function isServiceRoute(request: FastifyRequest): boolean {
  const url = request.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path === '/health' || path === '/metrics';
}

function contentTypeOf(request: FastifyRequest): string {
  return String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The protocol a request speaks: the native API under /native/; SQS's JSON protocol when it names
 * an X-Amz-Target; SQS's query protocol for GETs and form-encoded POSTs without one.
 */
export function protocolOf(request: FastifyRequest): Protocol {
  if (request.url.startsWith('/native/')) return 'native';
  if (request.headers['x-amz-target'] !== undefined) return 'json';
  if (request.method === 'GET' || request.method === 'HEAD' || contentTypeOf(request) === FORM_CONTENT_TYPE) return 'query';
  return 'json';
}

export function describeCall(request: FastifyRequest): CallInfo {
  if (!request.sqsCall) {
    const protocol = protocolOf(request);
    let action: string | undefined;
    if (protocol === 'native') action = request.url.slice('/native/'.length).split(/[/?]/)[0];
    else if (protocol === 'json') {
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AmazonSQS.')) action = target.slice('AmazonSQS.'.length);
    }
    request.sqsCall = { protocol, action };
  }
  return request.sqsCall;
}

/**
 * The access key a request is made with, for per-key rate limits: the verified key once
 * authentication ran (auth/authenticate.ts sets `request.caller`). With authentication off, what
 * the request claims (the Authorization header's `Credential=<key>/…`, or the `X-Amz-Credential`
 * query parameter of a presigned URL); unsigned requests share one key, `anonymous`.
 */
export function callerAccessKey(request: FastifyRequest): string {
  if (request.caller?.accessKeyId) return request.caller.accessKeyId;
  const auth = request.headers.authorization;
  const fromHeader = typeof auth === 'string' ? /Credential=([^/,\s]{1,128})\//.exec(auth)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const q = request.url.indexOf('?');
  if (q >= 0 && request.url.includes('X-Amz-Credential')) {
    try {
      const credential = new URLSearchParams(request.url.slice(q + 1)).get('X-Amz-Credential');
      const key = credential?.split('/')[0];
      if (key) return key.slice(0, 128);
    } catch {
      // A malformed query string claims no key.
    }
  }
  return 'anonymous';
}
