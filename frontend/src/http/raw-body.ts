/**
 * The exact bytes of a request's body, kept by every content-type parser before it decodes them,
 * so the SigV4 check hashes what the client signed (not a re-encoding of the parsed value), and
 * the query decoder reads the form from the same bytes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

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

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** Form bodies (SQS's query protocol) stay bytes: query-routes.ts decodes them. */
export function registerFormBodyParser(app: FastifyInstance): void {
  app.addContentTypeParser(FORM_CONTENT_TYPE, { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, body);
  });
}
