/**
 * The queue policy evaluator and the Add/RemovePermission edits, pure: principals, actions and
 * resources with wildcards, Deny over Allow, owner-only actions, and SQS's refusals.
 */
import fc from 'fast-check';
import t from 'tap';
import { GRANTABLE_ACTIONS, addPermission, evaluatePolicy, isAllowed, parsePolicy, removePermission } from '../../metadata-service/src/core/queue-policy.ts';
import { thrown } from '../support/errors.ts';

const OWNER = '000000000000';
const OTHER = '111111111111';
const THIRD = '222222222222';
const ARN = `arn:aws:sqs:us-east-1:${OWNER}:orders`;
const policy = (...Statement: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
const allowed = (text: string | undefined, account: string, action: string, resource = ARN): boolean => isAllowed(OWNER, text, { account, action, resource });

t.test('without a policy only the owner may', async (t) => {
  t.ok(allowed(undefined, OWNER, 'DeleteQueue'), 'the owner');
  t.notOk(allowed(undefined, OTHER, 'SendMessage'), 'nobody else');
});

t.test('principals, actions and resources', async (t) => {
  const p = policy({ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${OTHER}:root`] }, Action: ['sqs:Send*', 'SQS:receivemessage'], Resource: ARN });
  t.ok(allowed(p, OTHER, 'SendMessage'), 'an ARN principal and a wildcard action');
  t.ok(allowed(p, OTHER, 'ReceiveMessage'), 'actions are case-insensitive');
  t.notOk(allowed(p, OTHER, 'DeleteMessage'), 'an action not named');
  t.notOk(allowed(p, THIRD, 'SendMessage'), 'an account not named');
  t.notOk(allowed(p, OTHER, 'SendMessage', `arn:aws:sqs:us-east-1:${OWNER}:other`), 'another queue');
  t.ok(allowed(policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: `arn:aws:sqs:*:${OWNER}:*` }), THIRD, 'GetQueueUrl'), 'everyone, every action, wildcard resource');
  t.ok(allowed(policy({ Effect: 'Allow', Principal: { AWS: OTHER }, Action: '*' }), OTHER, 'PurgeQueue'), 'a bare account id, `*` action, no Resource');
  t.notOk(allowed(policy({ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: '*' }), OTHER, 'SendMessage'), 'service principals grant no account');
  t.notOk(allowed(policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*' }), OTHER, 'DeleteQueue'), 'owner-only actions are never granted');
  t.notOk(allowed(policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*' }), OTHER, 'SetQueueAttributes'), 'nor is SetQueueAttributes');
});

t.test('an explicit Deny wins, for the owner too', async (t) => {
  const p = policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*' }, { Effect: 'Deny', Principal: { AWS: OTHER }, Action: 'sqs:ReceiveMessage' }, { Effect: 'Deny', Principal: '*', Action: 'sqs:PurgeQueue' });
  t.ok(allowed(p, OTHER, 'SendMessage'), 'allowed');
  t.notOk(allowed(p, OTHER, 'ReceiveMessage'), 'denied for that account');
  t.ok(allowed(p, THIRD, 'ReceiveMessage'), 'not for others');
  t.notOk(allowed(p, OWNER, 'PurgeQueue'), 'the owner is denied by a Deny that names everyone');
  const lockout = policy({ Effect: 'Deny', Principal: '*', Action: 'sqs:*' });
  t.notOk(allowed(lockout, OWNER, 'SendMessage'), 'a Deny of everything stops the owner’s messages too');
  t.ok(allowed(lockout, OWNER, 'SetQueueAttributes'), 'but not its owner-only actions: a policy cannot lock its owner out');
  t.ok(allowed(lockout, OWNER, 'RemovePermission'), 'nor stop it from removing grants');
  t.equal(evaluatePolicy(parsePolicy(p), { account: THIRD, action: 'ChangeMessageVisibility', resource: ARN }), 'allow', 'evaluatePolicy says allow');
});

t.test('Deny wins whatever the order of statements (property)', async (t) => {
  const statement = fc.record({
    Effect: fc.constantFrom('Allow', 'Deny'),
    Principal: fc.constantFrom('*', { AWS: OTHER }, { AWS: [THIRD] }),
    Action: fc.constantFrom('sqs:*', 'sqs:SendMessage', 'sqs:Receive*'),
  });
  fc.assert(
    fc.property(fc.array(statement, { maxLength: 6 }), fc.constantFrom(OTHER, THIRD), fc.constantFrom('SendMessage', 'ReceiveMessage'), (statements, account, action) => {
      const decision = evaluatePolicy(parsePolicy(policy(...statements)), { account, action, resource: ARN });
      const reversed = evaluatePolicy(parsePolicy(policy(...[...statements].reverse())), { account, action, resource: ARN });
      return decision === reversed;
    }),
  );
  t.pass('the decision does not depend on statement order');
});

t.test('policies this server cannot evaluate are refused when set', async (t) => {
  for (const [what, text] of [
    ['not JSON', '{'],
    ['no Statement', '{}'],
    ['a Condition', policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } })],
    ['NotAction', policy({ Effect: 'Allow', Principal: '*', NotAction: 'sqs:DeleteQueue' })],
    ['a bad Effect', policy({ Effect: 'Maybe', Principal: '*', Action: 'sqs:*' })],
    ['no Principal', policy({ Effect: 'Allow', Action: 'sqs:*' })],
  ] as const) {
    t.equal(thrown(() => parsePolicy(text)).code, 'InvalidAttributeValue', what);
  }
  t.notOk(allowed('{', OTHER, 'SendMessage'), 'a stored policy that does not parse grants nothing');
});

t.test('AddPermission and RemovePermission edit labelled statements', async (t) => {
  const one = addPermission(undefined, ARN, { label: 'b-send', accounts: [OTHER], actions: ['SendMessage'] });
  t.ok(allowed(one, OTHER, 'SendMessage'), 'the grant works');
  t.notOk(allowed(one, OTHER, 'ReceiveMessage'), 'and only for what it names');
  const two = addPermission(one, ARN, { label: 'c-all', accounts: [THIRD], actions: ['*'] });
  t.ok(allowed(two, THIRD, 'PurgeQueue'), 'a second label');
  t.equal(thrown(() => addPermission(two, ARN, { label: 'b-send', accounts: [THIRD], actions: ['SendMessage'] })).message, 'Value b-send for parameter Label is invalid. Reason: Already exists.', 'a label is unique');
  t.equal(thrown(() => addPermission(two, ARN, { label: 'x', accounts: [OTHER], actions: ['DeleteQueue'] })).code, 'InvalidParameterValue', 'owner-only actions are refused');
  t.equal(thrown(() => addPermission(two, ARN, { label: 'x', accounts: [OTHER], actions: [...GRANTABLE_ACTIONS] })).code, 'OverLimit', 'at most 7 actions per statement');
  t.equal(thrown(() => addPermission(two, ARN, { label: 'x', accounts: ['12'], actions: ['SendMessage'] })).code, 'InvalidParameterValue', 'account ids have 12 digits');
  t.equal(thrown(() => addPermission(two, ARN, { label: 'bad label', accounts: [OTHER], actions: ['SendMessage'] })).code, 'InvalidParameterValue', 'labels are SQS names');
  const back = removePermission(two, 'b-send');
  t.notOk(allowed(back, OTHER, 'SendMessage'), 'removed');
  t.ok(allowed(back, THIRD, 'SendMessage'), 'the other label stays');
  t.equal(removePermission(back, 'c-all'), '', 'the last statement removes the policy');
  t.equal(thrown(() => removePermission(back, 'nope')).message, "Value nope for parameter Label is invalid. Reason: can't find label.", 'an unknown label');
});
