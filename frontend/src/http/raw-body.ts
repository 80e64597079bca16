/**
 * The exact bytes of form-encoded bodies (SQS's query protocol), kept as `request.rawBody`:
 * signature verification hashes the body as the client signed it, and the query decoder reads the
 * form from the same bytes.
 */
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request body exactly as received, for content types read as bytes (form bodies). */
    rawBody?: Buffer;
  }
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export function registerFormBodyParser(app: FastifyInstance): void {
  app.addContentTypeParser(FORM_CONTENT_TYPE, { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, body);
  });
}
