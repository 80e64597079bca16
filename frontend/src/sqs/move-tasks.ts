/**
 * SQS's message move task actions (DLQ redrive) as the JSON protocol names them. The metadata
 * service keeps and drives the tasks (POST/GET /v1/move-tasks); these handlers check parameter
 * types and shape the answers as SQS does: TaskHandle only while RUNNING, DestinationArn and
 * MaxNumberOfMessagesPerSecond only when the task named them, FailureReason only when FAILED,
 * StartedTimestamp in epoch milliseconds.
 */
import type { ActionContext } from './actions.ts';
import { checkMoveTaskCancel, checkMoveTaskSource, checkMoveTaskStart } from '../auth/move-task-access.ts';
import { optionalInteger, optionalString, requireString, type Json } from './shapes.ts';

import type { MoveTaskView } from '@conveyor/metadata-service';

type Handler = (input: Json, ctx: ActionContext) => Promise<Json>;


function toResultEntry(task: MoveTaskView): Json {
  const out: Json = {};
  if (task.status === 'RUNNING' && task.taskHandle !== undefined) out.TaskHandle = task.taskHandle;
  out.Status = task.status;
  out.SourceArn = task.sourceArn;
  if (task.destinationArn !== undefined) out.DestinationArn = task.destinationArn;
  if (task.maxMessagesPerSecond !== undefined) out.MaxNumberOfMessagesPerSecond = task.maxMessagesPerSecond;
  out.ApproximateNumberOfMessagesMoved = task.moved;
  out.ApproximateNumberOfMessagesToMove = task.toMove;
  if (task.status === 'FAILED' && task.failureReason !== undefined) out.FailureReason = task.failureReason;
  out.StartedTimestamp = task.startedAt;
  return out;
}

export const MOVE_TASK_ACTIONS: Record<string, Handler> = {
  async StartMessageMoveTask(input, ctx) {
    // The caller's account goes with the task: without a destination, messages go back only to sources it may send to.
    const body: Json = { sourceArn: requireString(input, 'SourceArn'), caller: ctx.account };
    const destination = optionalString(input, 'DestinationArn');
    await checkMoveTaskStart(ctx.router.metadata, ctx.account, body.sourceArn, destination);
    if (destination !== undefined) body.destinationArn = destination;
    const rate = optionalInteger(input, 'MaxNumberOfMessagesPerSecond');
    if (rate !== undefined) body.maxPerSecond = rate;
    const { taskHandle } = await ctx.router.metadata.call<{ taskHandle: string }>('POST', '/v1/move-tasks', body);
    return { TaskHandle: taskHandle };
  },

  async CancelMessageMoveTask(input, ctx) {
    const handle = requireString(input, 'TaskHandle');
    await checkMoveTaskCancel(ctx.router.metadata, ctx.account, handle);
    const { task } = await ctx.router.metadata.call<{ task: MoveTaskView }>('POST', '/v1/move-tasks/cancel', { taskHandle: handle });
    return { ApproximateNumberOfMessagesMoved: task.moved };
  },

  async ListMessageMoveTasks(input, ctx) {
    const params = new URLSearchParams({ sourceArn: requireString(input, 'SourceArn') });
    await checkMoveTaskSource(ctx.router.metadata, ctx.account, params.get('sourceArn'), 'ListMessageMoveTasks');
    const max = optionalInteger(input, 'MaxResults');
    if (max !== undefined) params.set('maxResults', String(max));
    const { tasks } = await ctx.router.metadata.call<{ tasks: MoveTaskView[] }>('GET', `/v1/move-tasks?${params}`);
    return { Results: tasks.map(toResultEntry) };
  },
};
