// The metadata service's queue records (metadata-service/src/core/queue-record.ts) against
// SQS-REFERENCE.md §1.2 (CreateQueue idempotency, ListQueues pagination), §1.3 (attributes) and §1.7.
import t from 'tap';
import fc from 'fast-check';
import { thrown } from '../support/index.ts';
import { defaultQueueConfig } from '@conveyor/client-sdk/wire';
import {
  MAX_TAGS,
  attributeView,
  buildQueueRecord,
  differingAttribute,
  paginate,
  queueArn,
  withAttributes,
  type CreateInput,
  type QueueRecord,
} from '../../metadata-service/src/core/queue-record.ts';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

const OWNER = '123456789012';
const REGION = 'us-east-1';
/** Deliberately not a whole second, so the seconds conversion shows. */
const NOW = 1_700_000_000_789;

const build = (name: string, attributes: Record<string, string> = {}, tags: Record<string, string> = {}, more: Partial<CreateInput> = {}): QueueRecord =>
  buildQueueRecord({ name, attributes, tags, owner: OWNER, region: REGION, clusterId: 'cluster-1', now: NOW, ...more });
const fifo = (name = 'jobs.fifo', attributes: Record<string, string> = {}, tags: Record<string, string> = {}): QueueRecord =>
  build(name, { FifoQueue: 'true', ...attributes }, tags);
const dlqArn = (name: string) => `arn:aws:sqs:${REGION}:${OWNER}:${name}`;
const sorted = (xs: Iterable<string>) => [...xs].sort();

const STANDARD_ALL = [
  'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp', 'DelaySeconds', 'LastModifiedTimestamp', 'MaximumMessageSize', 'MessageRetentionPeriod',
  'QueueArn', 'ReceiveMessageWaitTimeSeconds', 'SqsManagedSseEnabled', 'VisibilityTimeout',
];
const FIFO_EXTRA = ['ContentBasedDeduplication', 'DeduplicationScope', 'FifoQueue', 'FifoThroughputLimit'];

// ---------------------------------------------------------------------------------------------
// buildQueueRecord
// ---------------------------------------------------------------------------------------------

t.test('buildQueueRecord', async (t) => {
  t.test('a standard queue with no attributes gets the SQS defaults', async (t) => {
    const record = build('orders');
    t.same(record, {
      id: `${OWNER}:orders`,
      name: 'orders',
      owner: OWNER,
      arn: `arn:aws:sqs:us-east-1:${OWNER}:orders`,
      clusterId: 'cluster-1',
      config: defaultQueueConfig(false),
      extraAttributes: {},
      tags: {},
      createdAt: NOW,
      lastModifiedAt: NOW,
    });
    t.equal(record.config.fifo, false);
    t.equal(record.config.visibilityTimeoutMs, 30_000);
    t.equal(record.config.retentionMs, 345_600_000);
    t.equal(record.config.maxMessageBytes, 1_048_576);
  });

  t.test('attributes land in the config (engine units) or in extraAttributes', async (t) => {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    const record = build('orders', {
      DelaySeconds: '900',
      MaximumMessageSize: '1024',
      MessageRetentionPeriod: '60',
      ReceiveMessageWaitTimeSeconds: '20',
      VisibilityTimeout: '43200',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('orders-dlq'), maxReceiveCount: 5 }),
      Policy: policy,
      RedriveAllowPolicy: '{"redrivePermission":"denyAll"}',
      KmsMasterKeyId: 'alias/aws/sqs',
      KmsDataKeyReusePeriodSeconds: '600',
      SqsManagedSseEnabled: 'false',
    });
    t.equal(record.config.delayMs, 900_000);
    t.equal(record.config.maxMessageBytes, 1024);
    t.equal(record.config.retentionMs, 60_000);
    t.equal(record.config.receiveWaitMs, 20_000);
    t.equal(record.config.visibilityTimeoutMs, 43_200_000);
    t.same(record.config.redrive, { deadLetterQueue: `${OWNER}:orders-dlq`, deadLetterTargetArn: dlqArn('orders-dlq'), maxReceiveCount: 5 });
    t.same(record.extraAttributes, {
      Policy: policy,
      RedriveAllowPolicy: '{"redrivePermission":"denyAll"}',
      KmsMasterKeyId: 'alias/aws/sqs',
      KmsDataKeyReusePeriodSeconds: '600',
      SqsManagedSseEnabled: 'false',
    });
  });

  t.test('a FIFO queue needs FifoQueue=true and takes the FIFO attributes', async (t) => {
    const record = fifo('jobs.fifo', { ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    t.equal(record.name, 'jobs.fifo');
    t.equal(record.arn, `arn:aws:sqs:us-east-1:${OWNER}:jobs.fifo`);
    t.same(record.config, { ...defaultQueueConfig(true), contentBasedDeduplication: true, deduplicationScope: 'messageGroup', fifoThroughputLimit: 'perMessageGroupId' });
    t.same(fifo('plain.fifo').config, defaultQueueConfig(true));

    const missing = thrown(() => build('jobs.fifo'));
    t.equal(missing.code, 'InvalidAttributeValue');
    t.equal(missing.context.attribute, 'FifoQueue');
    t.match(missing.message, /parameter FifoQueue/);

    const wrongName = thrown(() => build('jobs', { FifoQueue: 'true' }));
    t.equal(wrongName.code, 'InvalidAttributeValue');
    t.equal(wrongName.context.attribute, 'FifoQueue');
  });

  t.test('the ARN is arn:aws:sqs:<region>:<owner>:<name>', async (t) => {
    t.equal(build('q', {}, {}, { region: 'eu-west-2', owner: '000000000000' }).arn, 'arn:aws:sqs:eu-west-2:000000000000:q');
    t.equal(queueArn('ap-south-1', '111122223333', 'x.fifo'), 'arn:aws:sqs:ap-south-1:111122223333:x.fifo');
    const record = build('q', {}, {}, { region: 'us-west-2', owner: '444455556666' });
    t.equal(record.owner, '444455556666');
    t.same(record.arn.split(':'), ['arn', 'aws', 'sqs', 'us-west-2', '444455556666', 'q']);
  });

  t.test('the input maps are copied, not shared', async (t) => {
    const attributes: Record<string, string> = { Policy: '{}' };
    const tags: Record<string, string> = { team: 'a' };
    const record = build('q', attributes, tags);
    attributes.Policy = '{"changed":true}';
    tags.team = 'b';
    t.equal(record.extraAttributes.Policy, '{}');
    t.equal(record.tags.team, 'a');
  });

  t.test('bad names are refused', async (t) => {
    for (const name of ['a b', 'a.b', 'x'.repeat(81), 'x'.repeat(76) + '.fifo', 'q.fifo.fifo', 'caf\u00e9', 'a/b']) {
      const err = thrown(() => build(name));
      t.equal(err.code, 'InvalidParameterValue', JSON.stringify(name));
      t.equal(err.context.parameter, 'QueueName');
    }
    t.equal(thrown(() => build('')).code, 'MissingParameter');
    t.equal(build('x'.repeat(80)).name, 'x'.repeat(80));
  });

  t.test('attributes that are not a map are InvalidParameterValue', async (t) => {
    const err = thrown(() => buildQueueRecord({ name: 'q', attributes: null as unknown as Record<string, string>, tags: {}, owner: OWNER, region: REGION, clusterId: 'c', now: NOW }));
    t.equal(err.code, 'InvalidParameterValue');
  });

  t.test('out-of-range and malformed values are InvalidAttributeValue naming the attribute', async (t) => {
    const cases: Array<[string, string]> = [
      ['DelaySeconds', '901'], ['DelaySeconds', '-1'], ['DelaySeconds', 'abc'], ['DelaySeconds', ''], ['DelaySeconds', '1.5'],
      ['MaximumMessageSize', '1023'], ['MaximumMessageSize', '1048577'],
      ['MessageRetentionPeriod', '59'], ['MessageRetentionPeriod', '1209601'],
      ['ReceiveMessageWaitTimeSeconds', '21'],
      ['VisibilityTimeout', '43201'],
      ['RedrivePolicy', '{'], ['RedrivePolicy', '[]'],
      ['RedrivePolicy', JSON.stringify({ deadLetterTargetArn: dlqArn('dlq'), maxReceiveCount: 0 })],
      ['RedrivePolicy', JSON.stringify({ deadLetterTargetArn: dlqArn('dlq'), maxReceiveCount: 1001 })],
      ['RedrivePolicy', JSON.stringify({ deadLetterTargetArn: dlqArn('dlq.fifo'), maxReceiveCount: 3 })],
      ['KmsDataKeyReusePeriodSeconds', '59'], ['KmsDataKeyReusePeriodSeconds', '86401'],
      ['SqsManagedSseEnabled', 'yes'],
      ['FifoQueue', 'maybe'],
    ];
    for (const [name, value] of cases) {
      const err = thrown(() => build('q', { [name]: value }));
      t.equal(err.code, 'InvalidAttributeValue', `${name}=${value}`);
      t.equal(err.context.attribute, name, `${name}=${value} names the attribute`);
      t.match(err.message, `Invalid value for the parameter ${name}`);
    }
    const fifoCases: Array<[string, string]> = [['ContentBasedDeduplication', 'yes'], ['DeduplicationScope', 'global'], ['FifoThroughputLimit', 'perGroup']];
    for (const [name, value] of fifoCases) {
      const err = thrown(() => fifo('q.fifo', { [name]: value }));
      t.equal(err.code, 'InvalidAttributeValue', `${name}=${value}`);
      t.equal(err.context.attribute, name);
    }
    const ht = thrown(() => fifo('q.fifo', { FifoThroughputLimit: 'perMessageGroupId' }));
    t.equal(ht.code, 'InvalidAttributeValue', 'perMessageGroupId needs DeduplicationScope=messageGroup');
    t.equal(ht.context.attribute, 'FifoThroughputLimit');
  });

  t.test('boundary values are accepted', async (t) => {
    const low = build('q', { DelaySeconds: '0', MaximumMessageSize: '1024', MessageRetentionPeriod: '60', ReceiveMessageWaitTimeSeconds: '0', VisibilityTimeout: '0' });
    t.same([low.config.delayMs, low.config.maxMessageBytes, low.config.retentionMs, low.config.receiveWaitMs, low.config.visibilityTimeoutMs], [0, 1024, 60_000, 0, 0]);
    const high = build('q', { DelaySeconds: '900', MaximumMessageSize: '1048576', MessageRetentionPeriod: '1209600', ReceiveMessageWaitTimeSeconds: '20', VisibilityTimeout: '43200' });
    t.same([high.config.delayMs, high.config.maxMessageBytes, high.config.retentionMs, high.config.receiveWaitMs, high.config.visibilityTimeoutMs], [900_000, 1_048_576, 1_209_600_000, 20_000, 43_200_000]);
    t.equal(build('q', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 1000 }) }).config.redrive?.maxReceiveCount, 1000);
    t.equal(build('q', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: '1' }) }).config.redrive?.maxReceiveCount, 1);
  });

  t.test('unknown and misplaced attribute names are InvalidAttributeName naming the attribute', async (t) => {
    for (const name of ['Visibility', 'visibilitytimeout', 'QueueArn', 'ApproximateNumberOfMessages', 'CreatedTimestamp', 'All']) {
      const err = thrown(() => build('q', { [name]: '1' }));
      t.equal(err.code, 'InvalidAttributeName', name);
      t.equal(err.context.attribute, name);
      t.match(err.message, name);
    }
    for (const name of ['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']) {
      const err = thrown(() => build('q', { [name]: 'true' }));
      t.equal(err.code, 'InvalidAttributeName', `${name} on a standard queue`);
      t.equal(err.context.attribute, name);
      t.match(err.message, name);
    }
  });

  t.test('Policy and RedriveAllowPolicy must be JSON objects', async (t) => {
    for (const name of ['Policy', 'RedriveAllowPolicy']) {
      for (const value of ['not json', '{', '[]', '[{}]', '"text"', '42', 'null', 'true']) {
        const err = thrown(() => build('q', { [name]: value }));
        t.equal(err.code, 'InvalidAttributeValue', `${name}=${value}`);
        t.equal(err.context.attribute, name);
        t.match(err.message, `parameter ${name}`);
      }
    }
    t.equal(build('q', { Policy: '{}' }).extraAttributes.Policy, '{}');
    const text = '{"a":{"b":[1,2]}}';
    t.equal(build('q', { Policy: text }).extraAttributes.Policy, text, 'a Policy is kept verbatim');
    for (const name of ['Policy', 'RedriveAllowPolicy']) t.notOk(name in build('q', { [name]: '' }).extraAttributes, `an empty ${name} sets nothing`);
    const allow = '{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:src"]}';
    t.equal(build('q', { RedriveAllowPolicy: allow }).extraAttributes.RedriveAllowPolicy, allow, 'a RedriveAllowPolicy is kept verbatim');
    t.match(thrown(() => build('q', { RedriveAllowPolicy: '{}' })).message, /RedriveAllowPolicy/, 'and checked as SQS checks it');
  });

  t.test('tags: keys 1–128 characters, values at most 256, at most 50 tags', async (t) => {
    const ok = build('q', {}, { ['k'.repeat(128)]: 'v'.repeat(256), empty: '' });
    t.same(ok.tags, { ['k'.repeat(128)]: 'v'.repeat(256), empty: '' });

    const bad: Array<[string, Record<string, unknown>]> = [
      ['empty key', { '': 'v' }],
      ['129-character key', { ['k'.repeat(129)]: 'v' }],
      ['257-character value', { k: 'v'.repeat(257) }],
      ['non-string value', { k: 42 }],
      ['null value', { k: null }],
    ];
    for (const [what, tags] of bad) {
      const err = thrown(() => build('q', {}, tags as Record<string, string>));
      t.equal(err.code, 'InvalidParameterValue', what);
      t.equal(err.context.parameter, 'Tags', what);
    }

    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`tag${i}`, `v${i}`]));
    t.equal(MAX_TAGS, 50);
    t.equal(Object.keys(build('q', {}, many(50)).tags).length, 50);
    const tooMany = thrown(() => build('q', {}, many(51)));
    t.equal(tooMany.code, 'InvalidParameterValue');
    t.equal(tooMany.context.parameter, 'Tags');

    for (const tags of [['a'], 'a=b']) {
      const err = thrown(() => build('q', {}, tags as unknown as Record<string, string>));
      t.equal(err.code, 'InvalidParameterValue', JSON.stringify(tags));
    }
    t.same(build('q', {}, undefined as unknown as Record<string, string>).tags, {}, 'no tags at all is fine');
  });
});

// ---------------------------------------------------------------------------------------------
// differingAttribute (CreateQueue idempotency)
// ---------------------------------------------------------------------------------------------

t.test('differingAttribute', async (t) => {
  t.test('equal definitions differ in nothing', async (t) => {
    t.equal(differingAttribute(build('q'), build('q')), undefined);
    const attrs = { DelaySeconds: '5', VisibilityTimeout: '60', Policy: '{"x":1}', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 4 }) };
    t.equal(differingAttribute(build('q', attrs), build('q', attrs)), undefined);
    const fifoAttrs = { ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };
    t.equal(differingAttribute(fifo('f.fifo', fifoAttrs), fifo('f.fifo', fifoAttrs)), undefined);
  });

  t.test('tags, cluster and times do not count: SQS compares attributes', async (t) => {
    const existing = build('q', { DelaySeconds: '5' }, { team: 'a' });
    const requested = build('q', { DelaySeconds: '5' }, { team: 'b', extra: 'x' }, { clusterId: 'cluster-9', now: NOW + 120_000 });
    t.equal(differingAttribute(existing, requested), undefined);
    t.equal(differingAttribute(requested, existing), undefined);
  });

  t.test('defaults given explicitly equal defaults left out', async (t) => {
    const explicit = build('q', {
      DelaySeconds: '0', MaximumMessageSize: '1048576', MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0', VisibilityTimeout: '30', SqsManagedSseEnabled: 'true',
    });
    t.equal(differingAttribute(build('q'), explicit), undefined);
    t.equal(differingAttribute(explicit, build('q')), undefined);
    const fifoExplicit = fifo('f.fifo', { ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });
    t.equal(differingAttribute(fifo('f.fifo'), fifoExplicit), undefined);
    t.equal(differingAttribute(build('q'), build('q', { SqsManagedSseEnabled: 'false' })), 'SqsManagedSseEnabled');
  });

  t.test('a redrive policy is compared by meaning, not by its JSON text', async (t) => {
    const a = build('q', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 5 }) });
    const b = build('q', { RedrivePolicy: `{ "maxReceiveCount": "5", "deadLetterTargetArn": "${dlqArn('d')}" }` });
    t.equal(differingAttribute(a, b), undefined);
  });

  t.test('the one changed attribute is named, both ways round', async (t) => {
    const changes: Array<[string, Record<string, string>, Record<string, string>]> = [
      ['DelaySeconds', {}, { DelaySeconds: '1' }],
      ['MaximumMessageSize', { MaximumMessageSize: '2048' }, { MaximumMessageSize: '4096' }],
      ['MessageRetentionPeriod', {}, { MessageRetentionPeriod: '60' }],
      ['ReceiveMessageWaitTimeSeconds', {}, { ReceiveMessageWaitTimeSeconds: '20' }],
      ['VisibilityTimeout', { VisibilityTimeout: '30' }, { VisibilityTimeout: '31' }],
      ['RedrivePolicy', {}, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 5 }) }],
      ['RedrivePolicy', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 5 }) }, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 6 }) }],
      ['Policy', {}, { Policy: '{}' }],
      ['Policy', { Policy: '{"a":1}' }, { Policy: '{"a":2}' }],
      ['RedriveAllowPolicy', {}, { RedriveAllowPolicy: '{"redrivePermission":"denyAll"}' }],
      ['KmsMasterKeyId', {}, { KmsMasterKeyId: 'alias/aws/sqs' }],
    ];
    for (const [attribute, before, after] of changes) {
      t.equal(differingAttribute(build('q', before), build('q', after)), attribute, `${attribute}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      t.equal(differingAttribute(build('q', after), build('q', before)), attribute, `${attribute} reversed`);
    }
    const fifoChanges: Array<[string, Record<string, string>]> = [
      ['ContentBasedDeduplication', { ContentBasedDeduplication: 'true' }],
      ['DeduplicationScope', { DeduplicationScope: 'messageGroup' }],
      ['DelaySeconds', { DelaySeconds: '3' }],
    ];
    for (const [attribute, after] of fifoChanges) {
      t.equal(differingAttribute(fifo('f.fifo'), fifo('f.fifo', after)), attribute, `FIFO ${attribute}`);
    }
    const ht = fifo('f.fifo', { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    t.equal(differingAttribute(fifo('f.fifo', { DeduplicationScope: 'messageGroup' }), ht), 'FifoThroughputLimit');
  });
});

// ---------------------------------------------------------------------------------------------
// withAttributes (SetQueueAttributes)
// ---------------------------------------------------------------------------------------------

t.test('withAttributes', async (t) => {
  t.test('changes apply; everything else stays; the input record is untouched', async (t) => {
    const record = build('q', { DelaySeconds: '5', Policy: '{"p":1}' }, { team: 'a' });
    const snapshot = structuredClone(record);
    const later = NOW + 3_600_000;
    const next = withAttributes(record, { VisibilityTimeout: '60', MessageRetentionPeriod: '120' }, later);
    t.equal(next.config.visibilityTimeoutMs, 60_000);
    t.equal(next.config.retentionMs, 120_000);
    t.equal(next.config.delayMs, 5_000, 'unchanged attributes kept');
    t.same(next.extraAttributes, { Policy: '{"p":1}' }, 'extra attributes kept');
    t.same(next.tags, { team: 'a' });
    t.equal(next.name, record.name);
    t.equal(next.arn, record.arn);
    t.equal(next.owner, record.owner);
    t.equal(next.clusterId, record.clusterId);
    t.equal(next.createdAt, NOW, 'createdAt stays');
    t.equal(next.lastModifiedAt, later, 'lastModifiedAt moves');
    t.same(record, snapshot, 'the old record is not modified');
  });

  t.test('an empty change still moves lastModifiedAt and keeps the config', async (t) => {
    const record = build('q', { VisibilityTimeout: '45' });
    const next = withAttributes(record, {}, NOW + 1000);
    t.same(next.config, record.config);
    t.equal(next.lastModifiedAt, NOW + 1000);
  });

  t.test('FifoQueue cannot change', async (t) => {
    const std = thrown(() => withAttributes(build('q'), { FifoQueue: 'true' }, NOW + 1));
    t.equal(std.code, 'InvalidAttributeValue');
    t.equal(std.context.attribute, 'FifoQueue');
    t.equal(std.message, 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.');
    const fq = thrown(() => withAttributes(fifo('f.fifo'), { FifoQueue: 'false' }, NOW + 1));
    t.equal(fq.code, 'InvalidAttributeValue');
    t.equal(fq.context.attribute, 'FifoQueue');
    t.equal(fq.message, 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.');
    t.equal(withAttributes(fifo('f.fifo'), { FifoQueue: 'true' }, NOW + 1).config.fifo, true, 'restating it is fine');
  });

  t.test('FIFO attributes can change on a FIFO queue, not on a standard one', async (t) => {
    const next = withAttributes(fifo('f.fifo'), { ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }, NOW + 1);
    t.equal(next.config.contentBasedDeduplication, true);
    t.equal(next.config.deduplicationScope, 'messageGroup');
    t.equal(next.config.fifoThroughputLimit, 'perMessageGroupId');
    const err = thrown(() => withAttributes(build('q'), { ContentBasedDeduplication: 'true' }, NOW + 1));
    t.equal(err.code, 'InvalidAttributeName');
    t.equal(err.context.attribute, 'ContentBasedDeduplication');
  });

  t.test('an empty RedrivePolicy removes it', async (t) => {
    const policy = JSON.stringify({ deadLetterTargetArn: dlqArn('dlq'), maxReceiveCount: 3 });
    const withRedrive = withAttributes(build('q'), { RedrivePolicy: policy }, NOW + 1);
    t.same(withRedrive.config.redrive, { deadLetterQueue: `${OWNER}:dlq`, deadLetterTargetArn: dlqArn('dlq'), maxReceiveCount: 3 });
    t.equal(attributeView(withRedrive, undefined).RedrivePolicy, policy);
    const removed = withAttributes(withRedrive, { RedrivePolicy: '' }, NOW + 2);
    t.equal(removed.config.redrive, undefined);
    t.notOk('RedrivePolicy' in attributeView(removed, undefined));
    t.same(withRedrive.config.redrive?.maxReceiveCount, 3, 'the earlier record still has it');
  });

  t.test('extra attributes are kept, replaced, and removed by an empty value', async (t) => {
    const record = build('q', { Policy: '{"v":1}', KmsMasterKeyId: 'alias/one' });
    const replaced = withAttributes(record, { Policy: '{"v":2}', RedriveAllowPolicy: '{"redrivePermission":"allowAll"}' }, NOW + 1);
    t.same(replaced.extraAttributes, { Policy: '{"v":2}', KmsMasterKeyId: 'alias/one', RedriveAllowPolicy: '{"redrivePermission":"allowAll"}' });
    const removed = withAttributes(replaced, { Policy: '', KmsMasterKeyId: '' }, NOW + 2);
    t.same(removed.extraAttributes, { RedriveAllowPolicy: '{"redrivePermission":"allowAll"}' });
    t.same(replaced.extraAttributes.Policy, '{"v":2}', 'the earlier record is not modified');
    const sse = withAttributes(record, { SqsManagedSseEnabled: 'false' }, NOW + 1);
    t.equal(sse.extraAttributes.SqsManagedSseEnabled, 'false');
  });

  t.test('bad values and names are refused with the attribute named', async (t) => {
    const record = build('q');
    const cases: Array<[string, string, string]> = [
      ['VisibilityTimeout', '43201', 'InvalidAttributeValue'],
      ['DelaySeconds', 'x', 'InvalidAttributeValue'],
      ['Policy', '[1]', 'InvalidAttributeValue'],
      ['RedriveAllowPolicy', 'nope', 'InvalidAttributeValue'],
      ['RedrivePolicy', '{"maxReceiveCount":2}', 'InvalidAttributeValue'],
      ['QueueArn', 'arn:aws:sqs:x:y:z', 'InvalidAttributeName'],
      ['Bogus', '1', 'InvalidAttributeName'],
    ];
    for (const [name, value, code] of cases) {
      const err = thrown(() => withAttributes(record, { [name]: value }, NOW + 1));
      t.equal(err.code, code, `${name}=${value}`);
      t.equal(err.context.attribute, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// attributeView (GetQueueAttributes All)
// ---------------------------------------------------------------------------------------------

t.test('attributeView', async (t) => {
  t.test('a new standard queue shows exactly the attributes SQS returns for All', async (t) => {
    const view = attributeView(build('q'), undefined);
    t.same(sorted(Object.keys(view)), STANDARD_ALL);
    t.same(view, {
      QueueArn: `arn:aws:sqs:us-east-1:${OWNER}:q`,
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
      CreatedTimestamp: '1700000000',
      LastModifiedTimestamp: '1700000000',
      DelaySeconds: '0',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      VisibilityTimeout: '30',
      SqsManagedSseEnabled: 'true',
    });
  });

  t.test('a new FIFO queue adds the four FIFO attributes', async (t) => {
    const view = attributeView(fifo('f.fifo'), undefined);
    t.same(sorted(Object.keys(view)), sorted([...STANDARD_ALL, ...FIFO_EXTRA]));
    t.equal(view.FifoQueue, 'true');
    t.equal(view.ContentBasedDeduplication, 'false');
    t.equal(view.DeduplicationScope, 'queue');
    t.equal(view.FifoThroughputLimit, 'perQueue');
    t.equal(view.QueueArn, `arn:aws:sqs:us-east-1:${OWNER}:f.fifo`);
  });

  t.test('counts fill the Approximate* counters', async (t) => {
    const view = attributeView(build('q'), { visible: 7, inflight: 3, delayed: 11 });
    t.equal(view.ApproximateNumberOfMessages, '7');
    t.equal(view.ApproximateNumberOfMessagesNotVisible, '3');
    t.equal(view.ApproximateNumberOfMessagesDelayed, '11');
  });

  t.test('timestamps are whole epoch seconds; LastModifiedTimestamp follows changes', async (t) => {
    const record = build('q', {}, {}, { now: 1_234_567_890_999 });
    const changed = withAttributes(record, { DelaySeconds: '4' }, 1_234_567_999_001);
    const view = attributeView(changed, undefined);
    t.equal(view.CreatedTimestamp, '1234567890');
    t.equal(view.LastModifiedTimestamp, '1234567999');
    t.equal(view.DelaySeconds, '4');
  });

  t.test('configured attributes show as SQS strings in seconds', async (t) => {
    const policy = JSON.stringify({ deadLetterTargetArn: dlqArn('d'), maxReceiveCount: 7 });
    const view = attributeView(build('q', {
      DelaySeconds: '15', MaximumMessageSize: '2048', MessageRetentionPeriod: '86400', ReceiveMessageWaitTimeSeconds: '10',
      VisibilityTimeout: '120', RedrivePolicy: policy, Policy: '{"p":true}', SqsManagedSseEnabled: 'false',
    }), undefined);
    t.equal(view.DelaySeconds, '15');
    t.equal(view.MaximumMessageSize, '2048');
    t.equal(view.MessageRetentionPeriod, '86400');
    t.equal(view.ReceiveMessageWaitTimeSeconds, '10');
    t.equal(view.VisibilityTimeout, '120');
    t.equal(view.RedrivePolicy, policy);
    t.equal(view.Policy, '{"p":true}');
    t.equal(view.SqsManagedSseEnabled, 'false');
    t.same(sorted(Object.keys(view)), sorted([...STANDARD_ALL, 'RedrivePolicy', 'Policy']));
  });
});

// ---------------------------------------------------------------------------------------------
// paginate (ListQueues)
// ---------------------------------------------------------------------------------------------

t.test('paginate', async (t) => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `q${String(i).padStart(5, '0')}`);

  t.test('without MaxResults: up to 1000 names and never a token', async (t) => {
    const all = names(2500);
    const page = paginate(all, undefined, undefined);
    t.same(page.names, all.slice(0, 1000));
    t.notOk('nextToken' in page);
    t.same(paginate(names(3), undefined, undefined), { names: names(3) });
    t.same(paginate([], undefined, undefined), { names: [] });
    t.same(paginate(names(1000), undefined, undefined).names.length, 1000);
  });

  t.test('MaxResults must be an integer 1..1000', async (t) => {
    const all = names(1500);
    t.same(paginate(all, 1, undefined).names, ['q00000']);
    t.same(paginate(all, 1000, undefined).names, all.slice(0, 1000));
    for (const bad of [0, -1, 1001, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = thrown(() => paginate(all, bad, undefined));
      t.equal(err.code, 'InvalidParameterValue', String(bad));
      t.equal(err.context.parameter, 'MaxResults');
    }
  });

  t.test('with MaxResults: a token exactly when more remain', async (t) => {
    const first = paginate(names(5), 2, undefined);
    t.same(first.names, ['q00000', 'q00001']);
    t.type(first.nextToken, 'string');
    const second = paginate(names(5), 2, first.nextToken);
    t.same(second.names, ['q00002', 'q00003']);
    t.type(second.nextToken, 'string');
    const third = paginate(names(5), 2, second.nextToken);
    t.same(third, { names: ['q00004'] });
    t.same(paginate(names(4), 4, undefined), { names: names(4) }, 'an exactly full page has no token');
    t.same(paginate(names(4), 2, paginate(names(4), 2, undefined).nextToken), { names: ['q00002', 'q00003'] });
    t.same(paginate([], 10, undefined), { names: [] });
  });

  t.test('a token still works after names change between pages', async (t) => {
    const first = paginate(['a', 'b', 'c', 'd', 'e'], 2, undefined);
    t.same(first.names, ['a', 'b']);
    t.same(paginate(['a', 'c', 'd', 'e'], 2, first.nextToken).names, ['c', 'd'], 'the last name shown was deleted');
    t.same(paginate(['a', 'b', 'bb', 'c', 'd'], 2, first.nextToken).names, ['bb', 'c'], 'a name created after it shows');
    t.same(paginate(['a', 'b'], 2, first.nextToken), { names: [] }, 'nothing left');
  });

  t.test('garbage tokens are InvalidParameterValue', async (t) => {
    for (const token of ['garbage', 'abcd', '!!!', '%%%%', 'not a token', '\u00e9\u00e9\u00e9\u00e9', '====']) {
      const err = thrown(() => paginate(names(10), 5, token));
      t.equal(err.code, 'InvalidParameterValue', JSON.stringify(token));
      t.equal(err.context.parameter, 'NextToken', JSON.stringify(token));
    }
  });

  t.test('property: pages cover every name exactly once, in order', async (t) => {
    const queueName = fc
      .tuple(fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: 1, maxLength: 8 }), fc.boolean())
      .map(([stem, isFifo]) => (isFifo ? `${stem}.fifo` : stem));
    fc.assert(
      fc.property(fc.uniqueArray(queueName, { maxLength: 60 }), fc.integer({ min: 1, max: 70 }), (unsorted, pageSize) => {
        const all = [...unsorted].sort();
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = paginate(all, pageSize, token);
          pages += 1;
          if (page.names.length > pageSize) return false;
          seen.push(...page.names);
          const more = seen.length < all.length;
          if (more !== (page.nextToken !== undefined)) return false;
          if (more && page.names.length !== pageSize) return false;
          token = page.nextToken;
        } while (token !== undefined && pages <= all.length + 1);
        return token === undefined && pages === Math.max(1, Math.ceil(all.length / pageSize)) && seen.join('\n') === all.join('\n');
      }),
      { seed: SEED, numRuns: 500 },
    );
    t.pass('pagination property held');
  });
});

t.test('differingAttribute compares only the attributes a CreateQueue names, when told which', async (t) => {
  const existing = build('orders', { VisibilityTimeout: '60', DelaySeconds: '5' });
  t.equal(differingAttribute(existing, build('orders'), []), undefined, 'naming no attributes matches any existing queue');
  t.equal(differingAttribute(existing, build('orders', { DelaySeconds: '5' }), ['DelaySeconds']), undefined, 'a named attribute with the same value matches');
  t.equal(differingAttribute(existing, build('orders', { DelaySeconds: '6' }), ['DelaySeconds']), 'DelaySeconds', 'a named attribute with another value does not');
  t.equal(differingAttribute(existing, build('orders'), undefined), 'DelaySeconds', 'without the list every attribute counts');
});
