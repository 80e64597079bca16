/**
 * Authorization of message move tasks: the caller must own the source (a dead-letter queue), and
 * may name as destination only a queue it owns or whose policy lets it send. Anything else is
 * answered as the metadata service answers a missing queue, so nothing leaks. A task without a
 * destination carries the caller's account, and the metadata service's driver sends a message back
 * only to a source that account may send to (else the task fails: move-task-runner.ts).
 */
import { isConveyorError } from '@conveyor/client-sdk';
import { destinationDoesNotExist, parseTaskHandle, sourceDoesNotExist } from '@conveyor/metadata-service';
import type { MetadataClient } from '../upstream/metadata-client.ts';
import { authorizedRoute, queueRefFromArn } from './queue-access.ts';

async function allowed(metadata: MetadataClient, arn: unknown, caller: string, action: string): Promise<boolean | undefined> {
  if (typeof arn !== 'string') return undefined; // malformed: the metadata service says how
  let ref;
  try {
    ref = queueRefFromArn(arn);
  } catch {
    return false;
  }
  if (!ref) return undefined;
  try {
    await authorizedRoute(metadata, ref, caller, action, true);
    return true;
  } catch (error) {
    if (isConveyorError(error, 'QueueDoesNotExist')) return false;
    throw error;
  }
}

/** StartMessageMoveTask: the source is the caller's own; a destination, if named, takes its sends. */
export async function checkMoveTaskStart(metadata: MetadataClient, caller: string, sourceArn: unknown, destinationArn: unknown): Promise<void> {
  if ((await allowed(metadata, sourceArn, caller, 'StartMessageMoveTask')) === false) throw sourceDoesNotExist();
  if (destinationArn !== undefined && destinationArn !== '' && (await allowed(metadata, destinationArn, caller, 'SendMessage')) === false) throw destinationDoesNotExist();
}

/** ListMessageMoveTasks: only the source's owner sees its tasks. */
export async function checkMoveTaskSource(metadata: MetadataClient, caller: string, sourceArn: unknown, action: string): Promise<void> {
  if ((await allowed(metadata, sourceArn, caller, action)) === false) throw sourceDoesNotExist();
}

/** CancelMessageMoveTask: the handle names its source, which must be the caller's. */
export async function checkMoveTaskCancel(metadata: MetadataClient, caller: string, handle: string): Promise<void> {
  let sourceArn: string;
  try {
    sourceArn = parseTaskHandle(handle).sourceArn;
  } catch {
    return; // not a handle: the metadata service refuses it
  }
  await checkMoveTaskSource(metadata, caller, sourceArn, 'CancelMessageMoveTask');
}
