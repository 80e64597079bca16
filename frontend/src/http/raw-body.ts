/**
 * The exact bytes of a request's body, kept by every content-type parser before it decodes them,
 * so the SigV4 check hashes what the client signed (not a re-encoding of the parsed value).
 */
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received; an empty Buffer for requests without one. */
    rawBody?: Buffer;
  }
}

const EMPTY = Buffer.alloc(0);

/** The raw body of a request (empty when there was none). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return request.rawBody ?? EMPTY;
}
