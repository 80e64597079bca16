/**
 * RedriveAllowPolicy, pure: SQS's checks when it is set (permission, sourceQueueArns only with
 * byQueue, 1 to 10 of them) and which source queues it lets name the queue as their DLQ.
 */
import t from 'tap';
import { MAX_SOURCE_QUEUE_ARNS, parseRedriveAllowPolicy, redriveAllows } from '../../metadata-service/src/core/redrive-allow-policy.ts';
import { thrown } from '../support/errors.ts';

const arn = (name: string): string => `arn:aws:sqs:us-east-1:000000000000:${name}`;

t.test('the policies SQS accepts', async (t) => {
  t.same(parseRedriveAllowPolicy('{"redrivePermission":"allowAll"}'), { redrivePermission: 'allowAll' });
  t.same(parseRedriveAllowPolicy('{"redrivePermission":"denyAll"}'), { redrivePermission: 'denyAll' });
  const ten = Array.from({ length: MAX_SOURCE_QUEUE_ARNS }, (_, i) => arn(`s${i}`));
  t.same(parseRedriveAllowPolicy(JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: ten })), { redrivePermission: 'byQueue', sourceQueueArns: ten }, 'byQueue with up to 10 ARNs');
});

t.test('the policies SQS refuses, each with its reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /unsupported format/],
    ['[]', /unsupported format/],
    ['{}', /unsupported format/],
    ['{"redrivePermission":"sometimes"}', /unsupported format/],
    ['{"redrivePermission":"allowAll","extra":1}', /unsupported format/],
    ['{"redrivePermission":"byQueue","sourceQueueArns":"one"}', /unsupported format/],
    ['{"redrivePermission":"byQueue","sourceQueueArns":[1]}', /unsupported format/],
    [JSON.stringify({ redrivePermission: 'allowAll', sourceQueueArns: [arn('a')] }), /must set redrivePermission to byQueue/],
    [JSON.stringify({ redrivePermission: 'denyAll', sourceQueueArns: [arn('a')] }), /must set redrivePermission to byQueue/],
    ['{"redrivePermission":"byQueue"}', /must also specify one or more sourceQueueArns/],
    ['{"redrivePermission":"byQueue","sourceQueueArns":[]}', /must also specify one or more sourceQueueArns/],
    [JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: Array.from({ length: 11 }, (_, i) => arn(`s${i}`)) }), /maximum number of source queue ARNs you can specify is 10/],
  ];
  for (const [text, reason] of cases) {
    const error = thrown(() => parseRedriveAllowPolicy(text));
    t.equal(error.code, 'InvalidAttributeValue', text);
    t.equal(error.context.attribute, 'RedriveAllowPolicy');
    t.match(error.message, reason, `${text}: ${reason.source}`);
  }
});

t.test('which sources a policy lets in', async (t) => {
  t.ok(redriveAllows(undefined, arn('any')), 'no policy: any source (allowAll is the default)');
  t.ok(redriveAllows('{"redrivePermission":"allowAll"}', arn('any')), 'allowAll');
  t.notOk(redriveAllows('{"redrivePermission":"denyAll"}', arn('any')), 'denyAll');
  const byQueue = JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arn('listed')] });
  t.ok(redriveAllows(byQueue, arn('listed')), 'byQueue: a listed source');
  t.notOk(redriveAllows(byQueue, arn('other')), 'byQueue: no other');
  t.notOk(redriveAllows(byQueue, 'arn:aws:sqs:us-east-1:111111111111:listed'), 'byQueue: the same name in another account is another queue');
});
