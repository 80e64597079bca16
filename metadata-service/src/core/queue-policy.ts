/**
 * Queue policies (the `Policy` attribute, IAM policy JSON), pure: parsing with SQS's refusals,
 * evaluation for one caller, action and queue, and the statement edits of AddPermission and
 * RemovePermission.
 *
 * What is understood: `Effect` Allow/Deny; `Principal` `"*"`, `{"AWS": "*"}`, or account ids and
 * `arn:aws:iam::<account>:…` ARNs (one or a list); `Action` `sqs:<Action>` with `*` wildcards,
 * case-insensitive; `Resource` the queue ARN, with wildcards (absent: this queue). Conditions and
 * the `Not*` elements are refused when the policy is set, so nothing is silently misread.
 * Evaluation is IAM's for the grantable actions: an explicit Deny wins, then an Allow; the owner
 * needs no Allow. Owner-only actions ignore the policy.
 */
import { ConveyorError } from '@conveyor/client-sdk/wire';

export type Decision = 'allow' | 'deny' | 'none';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource?: string | string[];
}

export interface QueuePolicy {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement[];
}

export interface AccessRequest {
  /** The caller's account id. */
  account: string;
  /** The SQS action without prefix, e.g. `SendMessage`. */
  action: string;
  /** The queue's ARN. */
  resource: string;
}

/** Actions another account can be granted (SQS refuses the rest cross-account whatever the policy says). */
export const GRANTABLE_ACTIONS: ReadonlySet<string> = new Set([
  'SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'GetQueueUrl', 'ListDeadLetterSourceQueues', 'PurgeQueue',
]);

const MAX_ACTIONS_PER_STATEMENT = 7;
const LABEL = /^[A-Za-z0-9_-]{1,80}$/;

const invalidPolicy = (reason: string): ConveyorError =>
  new ConveyorError('InvalidAttributeValue', `Invalid value for the parameter Policy. Reason: ${reason}`, { attribute: 'Policy' });

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** A policy's text checked and parsed; InvalidAttributeValue naming what is wrong. */
export function parsePolicy(text: string): QueuePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidPolicy('The policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidPolicy('The policy must be a JSON object.');
  const statements = (parsed as { Statement?: unknown }).Statement;
  if (statements === undefined) throw invalidPolicy('The policy must contain a Statement.');
  const checked = list(statements).map((raw, i): PolicyStatement => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidPolicy(`Statement ${i} must be an object.`);
    const s = raw as Record<string, unknown>;
    for (const unsupported of ['Condition', 'NotAction', 'NotPrincipal', 'NotResource']) {
      if (unsupported in s) throw invalidPolicy(`Statement ${i}: ${unsupported} is not supported.`);
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw invalidPolicy(`Statement ${i}: Effect must be Allow or Deny.`);
    if (s.Principal === undefined) throw invalidPolicy(`Statement ${i} must name a Principal.`);
    const actions = list(s.Action);
    if (s.Action === undefined || actions.length === 0 || actions.some((a) => typeof a !== 'string')) throw invalidPolicy(`Statement ${i}: Action must be a string or a list of strings.`);
    if (s.Resource !== undefined && list(s.Resource).some((r) => typeof r !== 'string')) throw invalidPolicy(`Statement ${i}: Resource must be a string or a list of strings.`);
    if (s.Sid !== undefined && typeof s.Sid !== 'string') throw invalidPolicy(`Statement ${i}: Sid must be a string.`);
    return s as unknown as PolicyStatement;
  });
  return { ...(parsed as QueuePolicy), Statement: checked };
}

/** `*` and `?` wildcards, case-insensitive when asked (actions are; ARNs are not). */
function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function principalMatches(principal: unknown, account: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const aws = (principal as { AWS?: unknown }).AWS;
  if (aws === undefined) return false;
  return list(aws).some((p) => {
    if (typeof p !== 'string') return false;
    if (p === '*' || p === account) return true;
    const arn = /^arn:aws:iam::(\d{12}):/.exec(p);
    return arn?.[1] === account;
  });
}

function statementMatches(s: PolicyStatement, request: AccessRequest): boolean {
  if (!principalMatches(s.Principal, request.account)) return false;
  const action = `sqs:${request.action}`;
  if (!list(s.Action).some((a) => globMatches(a as string, action, true))) return false;
  if (s.Resource === undefined) return true;
  return list(s.Resource).some((r) => globMatches(r as string, request.resource, false));
}

/** What a policy says about one request: an explicit Deny wins over any Allow. */
export function evaluatePolicy(policy: QueuePolicy | undefined, request: AccessRequest): Decision {
  let decision: Decision = 'none';
  for (const s of policy?.Statement ?? []) {
    if (!statementMatches(s, request)) continue;
    if (s.Effect === 'Deny') return 'deny';
    decision = 'allow';
  }
  return decision;
}

/** Parsed stored policies (undefined: one that no longer parses), so a queue's policy is not re-parsed on every call. */
const policyCache = new Map<string, QueuePolicy | undefined>();
function cachedPolicy(text: string): QueuePolicy | undefined {
  if (policyCache.has(text)) return policyCache.get(text);
  let policy: QueuePolicy | undefined;
  try {
    policy = parsePolicy(text);
  } catch {
    policy = undefined;
  }
  if (policyCache.size >= 256) policyCache.clear(); // bounded: policies are few, but up to 20 KB each
  policyCache.set(text, policy);
  return policy;
}

/**
 * May `request.account` do `request.action` on a queue owned by `owner` with this policy text?
 * Owner-only actions (configure, delete, grant, tag, move tasks) are the owner's whatever the
 * policy says, so no policy can lock its owner out. The grantable ones follow the policy: an
 * explicit Deny refuses anyone, the owner included; otherwise the owner may, and another account
 * may when an Allow matches. A stored policy that no longer parses grants and denies nothing.
 */
export function isAllowed(owner: string, policyText: string | undefined, request: AccessRequest): boolean {
  if (!GRANTABLE_ACTIONS.has(request.action)) return request.account === owner;
  const decision = evaluatePolicy(policyText ? cachedPolicy(policyText) : undefined, request);
  if (decision === 'deny') return false;
  return request.account === owner || decision === 'allow';
}

const labelError = (label: string, reason: string): ConveyorError =>
  new ConveyorError('InvalidParameterValue', `Value ${label} for parameter Label is invalid. Reason: ${reason}`, { parameter: 'Label' });

/** What AddPermission grants: a label (the statement's Sid), accounts and actions. */
export interface PermissionGrant {
  label: string;
  accounts: readonly string[];
  actions: readonly string[];
}

/** AddPermission: the policy text with one more Allow statement, identified by its label (Sid). */
export function addPermission(policyText: string | undefined, queueArn: string, grant: PermissionGrant): string {
  if (!LABEL.test(grant.label)) throw labelError(grant.label, 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.');
  if (grant.accounts.length === 0) throw new ConveyorError('MissingParameter', 'The request must contain the parameter AWSAccountIds.', { parameter: 'AWSAccountIds' });
  if (grant.actions.length === 0) throw new ConveyorError('MissingParameter', 'The request must contain the parameter Actions.', { parameter: 'Actions' });
  for (const account of grant.accounts) {
    if (!/^\d{12}$/.test(account)) throw new ConveyorError('InvalidParameterValue', `Value ${account} for parameter AWSAccountIds is invalid. Reason: must be a 12-digit account id.`, { parameter: 'AWSAccountIds' });
  }
  if (grant.actions.length > MAX_ACTIONS_PER_STATEMENT) {
    throw new ConveyorError('OverLimit', `${grant.actions.length} Actions were found, maximum allowed is ${MAX_ACTIONS_PER_STATEMENT}.`, { parameter: 'Actions' });
  }
  for (const action of grant.actions) {
    if (action !== '*' && !GRANTABLE_ACTIONS.has(action)) {
      throw new ConveyorError('InvalidParameterValue', `Value SQS:${action} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.`, { parameter: 'Actions' });
    }
  }
  const policy: QueuePolicy = policyText ? parsePolicy(policyText) : { Version: '2012-10-17', Id: `${queueArn}/SQSDefaultPolicy`, Statement: [] };
  if (policy.Statement.some((s) => s.Sid === grant.label)) throw labelError(grant.label, 'Already exists.');
  const statement: PolicyStatement = {
    Sid: grant.label,
    Effect: 'Allow',
    Principal: { AWS: grant.accounts.map((a) => `arn:aws:iam::${a}:root`) },
    Action: grant.actions.map((a) => `SQS:${a}`),
    Resource: queueArn,
  };
  return JSON.stringify({ ...policy, Statement: [...policy.Statement, statement] });
}

/** RemovePermission: the policy text without the statement of that label ('' when none is left). */
export function removePermission(policyText: string | undefined, label: string): string {
  const policy = policyText ? parsePolicy(policyText) : undefined;
  if (!policy?.Statement.some((s) => s.Sid === label)) throw labelError(label, "can't find label.");
  const rest = policy.Statement.filter((s) => s.Sid !== label);
  return rest.length === 0 ? '' : JSON.stringify({ ...policy, Statement: rest });
}
