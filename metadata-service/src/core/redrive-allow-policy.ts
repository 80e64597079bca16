/**
 * A dead-letter queue's RedriveAllowPolicy, pure: SQS's checks when it is set, and whether it lets
 * a given source queue name this queue in its RedrivePolicy.
 *   {"redrivePermission": "allowAll"}                          any source (the default: no policy)
 *   {"redrivePermission": "denyAll"}                           none
 *   {"redrivePermission": "byQueue", "sourceQueueArns": [...]} only these (1 to 10 ARNs)
 */
import { ConveyorError } from '@conveyor/client-sdk/wire';

export type RedrivePermission = 'allowAll' | 'denyAll' | 'byQueue';

export interface RedriveAllowPolicy {
  redrivePermission: RedrivePermission;
  sourceQueueArns?: string[];
}

export const MAX_SOURCE_QUEUE_ARNS = 10;
const PERMISSIONS: ReadonlySet<string> = new Set(['allowAll', 'denyAll', 'byQueue']);
const FIELDS: ReadonlySet<string> = new Set(['redrivePermission', 'sourceQueueArns']);

const invalid = (reason: string): ConveyorError =>
  new ConveyorError('InvalidAttributeValue', `Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the redrive allow policy${reason}`, { attribute: 'RedriveAllowPolicy' });

/** The policy checked as SQS checks it; InvalidAttributeValue saying what is wrong. */
export function parseRedriveAllowPolicy(text: string): RedriveAllowPolicy {
  const unsupported = invalid(', as it’s in an unsupported format.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unsupported;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw unsupported;
  const policy = parsed as Record<string, unknown>;
  if (Object.keys(policy).some((k) => !FIELDS.has(k))) throw unsupported;
  const permission = policy.redrivePermission;
  if (typeof permission !== 'string' || !PERMISSIONS.has(permission)) throw unsupported;
  const arns = policy.sourceQueueArns;
  if (arns !== undefined && (!Array.isArray(arns) || arns.some((a) => typeof a !== 'string'))) throw unsupported;
  if (arns !== undefined && permission !== 'byQueue') throw invalid('. To specify one or more source queue ARNs, you must set redrivePermission to byQueue.');
  if (permission !== 'byQueue') return { redrivePermission: permission as RedrivePermission };
  if (arns === undefined || arns.length === 0) throw invalid('. When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values.');
  if (arns.length > MAX_SOURCE_QUEUE_ARNS) throw invalid(`. The maximum number of source queue ARNs you can specify is ${MAX_SOURCE_QUEUE_ARNS}.`);
  return { redrivePermission: 'byQueue', sourceQueueArns: arns as string[] };
}

/**
 * Does the dead-letter queue's policy (its text; absent means allowAll) let the queue with this
 * ARN use it? A stored policy that no longer parses restricts nothing (every write checks it).
 */
export function redriveAllows(policyText: string | undefined, sourceArn: string): boolean {
  if (!policyText) return true;
  let policy: RedriveAllowPolicy;
  try {
    policy = parseRedriveAllowPolicy(policyText);
  } catch {
    return true;
  }
  if (policy.redrivePermission === 'allowAll') return true;
  if (policy.redrivePermission === 'denyAll') return false;
  return policy.sourceQueueArns!.includes(sourceArn);
}

/** SQS's refusal of a RedrivePolicy whose dead-letter queue does not allow this source. */
export function redriveNotAllowed(deadLetterTargetArn: string): ConveyorError {
  return new ConveyorError(
    'InvalidAttributeValue',
    `Invalid value for the parameter RedrivePolicy. Reason: The dead-letter queue ${deadLetterTargetArn} does not allow this queue as a source: see its RedriveAllowPolicy.`,
    { attribute: 'RedrivePolicy' },
  );
}
