/**
 * SQS's query protocol: `Action=…&Version=2012-11-05&…` form-encoded in a POST body or in a GET's
 * query string, on `/` or on a queue URL's path (`/<account>/<queue>`, QueueUrl may then be left
 * out). Parameters are decoded into the JSON protocol's input (query/decode.ts), the same handler
 * runs, and its output is written as SQS's XML (query/encode.ts). Errors are answered as
 * `<ErrorResponse>` by the server's error handler (the request is marked as a query call).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConveyorError, missingParameter } from '@conveyor/client-sdk';
import { decodeQueryInput } from '../query/decode.ts';
import { XML_CONTENT_TYPE, renderQueryResponse } from '../query/encode.ts';
import { parseForm } from '../query/form.ts';
import { describeCall } from './call-info.ts';
import type { Invoke } from './invoke.ts';
import { registerFormBodyParser } from './raw-body.ts';

const API_VERSION = '2012-11-05';

/** Whether a request speaks the query protocol (no X-Amz-Target; a GET or a form-encoded body). */
export function isQueryRequest(request: FastifyRequest): boolean {
  return describeCall(request).protocol === 'query';
}

export async function serveQuery(request: FastifyRequest, reply: FastifyReply, invoke: Invoke): Promise<FastifyReply> {
  const params = new Map<string, string>();
  const q = request.url.indexOf('?');
  if (q >= 0) parseForm(request.url.slice(q + 1), params);
  if (request.method === 'POST') parseForm(request.rawBody ?? (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)), params);
  const action = params.get('Action');
  if (action === undefined || action === '') throw missingParameter('Action');
  describeCall(request).action = action;
  const version = params.get('Version');
  if (version !== undefined && version !== API_VERSION) throw new ConveyorError('InvalidParameterValue', `Value ${version.slice(0, 64)} for parameter Version is invalid. Reason: only ${API_VERSION} is supported.`, { parameter: 'Version' });
  const input = decodeQueryInput(action, params);
  const output = await invoke(action, input, request, reply);
  return reply.header('content-type', XML_CONTENT_TYPE).send(renderQueryResponse(action, output, request.id));
}

/** The form body parser and the GET routes (POSTs share the JSON protocol's catch-all route). */
export function registerQueryRoutes(app: FastifyInstance, invoke: Invoke): void {
  registerFormBodyParser(app);
  const get = (request: FastifyRequest, reply: FastifyReply) => serveQuery(request, reply, invoke);
  app.get('/', get);
  app.get('/:account/:queue', get);
}
