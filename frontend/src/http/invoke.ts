/**
 * One way in for every SQS action, whatever the protocol (JSON or query): find the handler, apply
 * the caller's and the queue's rate limits and the long-poll cap, and run the handler; a receive
 * gets an abort signal that fires when the client goes away (a parked long poll then ends at the leader).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConveyorError } from '@conveyor/client-sdk';
import type { DedupCache } from '../core/dedup-cache.ts';
import { ACTIONS } from '../sqs/actions.ts';
import { MOVE_TASK_ACTIONS } from '../sqs/move-tasks.ts';
import type { Json } from '../sqs/shapes.ts';
import type { Router } from '../upstream/router.ts';
import { callerAccount } from '../auth/authenticate.ts';
import { describeCall } from './call-info.ts';
import type { TrafficGuard } from './traffic-guard.ts';

/** Every SQS action: queues and messages (actions.ts) and message move tasks (move-tasks.ts). */
export const HANDLERS = Object.freeze({ ...ACTIONS, ...MOVE_TASK_ACTIONS });

export interface InvokeContext {
  router: Router;
  dedup: DedupCache;
  publicUrl: string;
  guard: TrafficGuard;
}

export type Invoke = (action: string, input: Json, request: FastifyRequest, reply: FastifyReply) => Promise<Json>;

/** The queue a call concerns, for per-queue limits and logs: its QueueUrl's last segment, or the request path's. */
export function queueHint(input: Json, path: string): string | undefined {
  const url = input.QueueUrl;
  const text = typeof url === 'string' && url.length > 0 ? url : path;
  const name = /\/\d{12}\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/.exec(text)?.[1];
  return name && name.length <= 80 ? name : undefined;
}

/** A signal that fires when the client goes away before its answer: only a receive (a parked poll) has use for one. */
function abortOnClose(reply: FastifyReply): AbortSignal {
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  return abort.signal;
}

export function createInvoke(ctx: InvokeContext): Invoke {
  return async (action, input, request, reply) => {
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!handler) throw new ConveyorError('InvalidAction', `The action ${action.slice(0, 128)} is not valid for this endpoint.`);
    const path = request.url.split('?')[0]!;
    const call = describeCall(request);
    call.action = action;
    call.queue = queueHint(input, path);
    const wait = input.WaitTimeSeconds;
    ctx.guard.admit(request, call.queue, action === 'ReceiveMessage' && (typeof wait === 'number' || typeof wait === 'string') && Number(wait) > 0);
    return handler(input, { router: ctx.router, dedup: ctx.dedup, publicUrl: ctx.publicUrl, account: callerAccount(request), path, signal: action === 'ReceiveMessage' ? abortOnClose(reply) : undefined });
  };
}
