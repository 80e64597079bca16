/**
 * Which queue a request names, and whether its caller may use it. Queue URLs are
 * `<public url>/<account>/<name>`; ARNs name the account too; a bare name means the caller's own
 * queue. A queue the caller may not use is answered exactly as a missing one, so nobody learns
 * what another account holds.
 */
import { ConveyorError, queueId, queueIdFromArn, splitQueueId } from '@conveyor/client-sdk';
import type { MetadataClient, QueueRoute } from '../upstream/metadata-client.ts';
import { isAllowed, parsePolicy } from '@conveyor/metadata-service';

export interface QueueRef {
  account: string;
  name: string;
  /** `<account>:<name>`: the registry key and the backend's queue name. */
  id: string;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

export const queueDoesNotExist = (name: string): ConveyorError => new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue: name });

/** A queue of an account; QueueDoesNotExist for what cannot be a queue name or an account id. */
export function queueRefOf(account: string, name: string): QueueRef {
  if (!QUEUE_NAME.test(name) || name.length > 80 || !/^\d{12}$/.test(account)) throw queueDoesNotExist(name);
  return { account, name, id: queueId(account, name) };
}

/** Recent URLs' refs by caller and URL: callers name the same few queues call after call. */
const refCache = new Map<string, QueueRef>();

/** A queue URL or a request path: its last segment is the name, the one before it the account (if 12 digits). */
export function queueRefFromUrl(text: string, caller: string): QueueRef {
  if (text.length > 512) return parseQueueRef(text, caller);
  const key = `${caller}\u0000${text}`;
  let ref = refCache.get(key);
  if (!ref) {
    ref = Object.freeze(parseQueueRef(text, caller)); // what does not parse throws, and is not kept
    if (refCache.size >= 1_000) refCache.clear(); // bounded, whatever URLs callers make up
    refCache.set(key, ref);
  }
  return ref;
}

function parseQueueRef(text: string, caller: string): QueueRef {
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') : text;
  const segments = path.split('?')[0]!.split('/').filter((s) => s.length > 0);
  const name = segments.at(-1) ?? '';
  const account = segments.at(-2);
  return queueRefOf(account !== undefined && /^\d{12}$/.test(account) ? account : caller, name);
}

/** A queue named on the native API: `<account>:<name>` or a bare name (the caller's). */
export function queueRefFromId(text: string, caller: string): QueueRef {
  const { account, name } = splitQueueId(text);
  return queueRefOf(account ?? caller, name);
}

export function queueRefFromArn(arn: string): QueueRef | undefined {
  const id = queueIdFromArn(arn);
  if (!id) return undefined;
  const { account, name } = splitQueueId(id);
  return queueRefOf(account!, name);
}

/** May `account` do `action` on this queue (its owner and its Policy attribute decide)? */
export function mayUse(route: QueueRoute, account: string, action: string): boolean {
  return isAllowed(route.owner, route.extraAttributes.Policy, { account, action, resource: route.arn });
}

/**
 * The route of a queue the caller may use for `action`; QueueDoesNotExist when it is missing or
 * forbidden alike. `refresh` reads the record afresh (for actions that change it).
 */
export async function authorizedRoute(metadata: MetadataClient, queue: QueueRef, caller: string, action: string, refresh = false): Promise<QueueRoute> {
  let route: QueueRoute;
  try {
    route = await metadata.queue(queue.id, refresh);
  } catch (error) {
    if (error instanceof ConveyorError && error.code === 'QueueDoesNotExist') throw queueDoesNotExist(queue.name);
    throw error;
  }
  if (!mayUse(route, caller, action)) throw queueDoesNotExist(queue.name);
  return route;
}

/**
 * Attributes set by CreateQueue or SetQueueAttributes: a Policy must be one this frontend can
 * evaluate, and a RedrivePolicy may name only a dead-letter queue the caller owns or may send to
 * (any other is "does not exist", as a missing one).
 */
export async function checkQueueAttributes(metadata: MetadataClient, caller: string, attributes: Readonly<Record<string, string>>): Promise<void> {
  if (attributes.Policy) parsePolicy(attributes.Policy);
  let arn: unknown;
  try {
    arn = attributes.RedrivePolicy ? (JSON.parse(attributes.RedrivePolicy) as { deadLetterTargetArn?: unknown } | null)?.deadLetterTargetArn : undefined;
  } catch {
    return; // malformed: the metadata service names the problem
  }
  if (typeof arn !== 'string') return;
  const missing = new ConveyorError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy. Reason: Dead letter target does not exist.', { attribute: 'RedrivePolicy' });
  let target: QueueRef | undefined;
  try {
    target = queueRefFromArn(arn);
  } catch {
    throw missing;
  }
  if (!target) return;
  try {
    await authorizedRoute(metadata, target, caller, 'SendMessage', true);
  } catch (error) {
    if (error instanceof ConveyorError && error.code === 'QueueDoesNotExist') throw missing;
    throw error;
  }
}
