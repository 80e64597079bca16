/**
 * Error answers in the protocol a request speaks: SQS JSON (`__type`, x-amzn-query-error), SQS
 * query (`<ErrorResponse>` XML) or native (msgpack `{error}`); throttled and shed requests carry
 * Retry-After. The JSON shape is SQS's; the query shape follows encode.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, NATIVE_CONTENT_TYPE, encodeNative, type ConveyorError, type NativeError } from '@conveyor/client-sdk';
import { XML_CONTENT_TYPE, renderQueryError } from '../query/encode.ts';
import { describeCall } from './call-info.ts';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

export function withRetryAfter(reply: FastifyReply, error: ConveyorError): FastifyReply {
  const seconds = error.context.retryAfterSeconds;
  return typeof seconds === 'number' ? reply.header('retry-after', String(seconds)) : reply;
}

export function sendJsonError(reply: FastifyReply, error: ConveyorError): FastifyReply {
  const info = ERROR_CODES[error.code];
  return withRetryAfter(reply, error)
    .code(info.status)
    .header('content-type', JSON_CONTENT_TYPE)
    .header('x-amzn-query-error', `${info.legacyCode};${info.senderFault ? 'Sender' : 'Receiver'}`)
    .send(JSON.stringify({ __type: info.shape, message: error.message }));
}

export function sendQueryError(request: FastifyRequest, reply: FastifyReply, error: ConveyorError): FastifyReply {
  return withRetryAfter(reply, error).code(error.status).header('content-type', XML_CONTENT_TYPE).send(renderQueryError(error, request.id));
}

export function sendNativeError(reply: FastifyReply, error: ConveyorError): FastifyReply {
  const body: NativeError = { error: { code: error.code, message: error.message, context: error.context } };
  return withRetryAfter(reply, error).code(error.status).header('content-type', NATIVE_CONTENT_TYPE).send(encodeNative(body));
}

/** The error in the request's own protocol. */
export function sendErrorFor(request: FastifyRequest, reply: FastifyReply, error: ConveyorError): FastifyReply {
  const call = describeCall(request);
  call.errorCode = error.code;
  if (call.protocol === 'query') return sendQueryError(request, reply, error);
  if (call.protocol === 'native') return sendNativeError(reply, error);
  return sendJsonError(reply, error);
}
