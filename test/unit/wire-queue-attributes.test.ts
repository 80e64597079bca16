// Queue names and queue attributes (queue-attributes.ts) against SQS-REFERENCE.md §1.2, §1.3 and §1.7.
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { thrown } from '../support/index.ts';
import fc from 'fast-check';
import { QUEUE_DEFAULTS, checkQueueName, defaultQueueConfig, formatQueueConfig, isFifoName, parseQueueAttributes, queueNameFromArn } from '@conveyor/client-sdk/wire';
import type { QueueConfig } from '@conveyor/client-sdk/wire';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

/** CreateQueue as the engine calls it. */
const create = (name: string, attributes: Record<string, string> = {}): QueueConfig =>
  parseQueueAttributes(name, attributes, defaultQueueConfig(isFifoName(name)), true);
/** SetQueueAttributes as the engine calls it. */
const update = (name: string, current: QueueConfig, attributes: Record<string, string>): QueueConfig =>
  parseQueueAttributes(name, attributes, current, false);

const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const redrive = (policy: unknown) => ({ RedrivePolicy: typeof policy === 'string' ? policy : JSON.stringify(policy) });

// ---------------------------------------------------------------------------------------------
// Queue names
// ---------------------------------------------------------------------------------------------

t.test('checkQueueName', async (t) => {
  const text = 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length';

  t.test('valid names are returned', async (t) => {
    for (const name of ['a', 'My_Queue-1', 'x'.repeat(80), 'q.fifo', 'x'.repeat(75) + '.fifo', '0', '-_-']) {
      t.equal(checkQueueName(name), name, name.length > 20 ? `${name.length} chars` : name);
    }
  });

  t.test('80 characters pass, 81 fail (the .fifo suffix counts)', async (t) => {
    t.equal(checkQueueName('x'.repeat(80)), 'x'.repeat(80));
    const err = thrown(() => checkQueueName('x'.repeat(81)));
    t.equal(err.code, 'InvalidParameterValue');
    t.equal(err.message, text);
    t.equal(checkQueueName('x'.repeat(75) + '.fifo').length, 80);
    t.equal(thrown(() => checkQueueName('x'.repeat(76) + '.fifo')).message, text);
  });

  t.test('bad characters and misplaced dots fail', async (t) => {
    for (const name of ['a.b', 'a b', 'a/b', 'a:b', 'caf\u00e9', 'q.FIFO', 'q.fifo.fifo', '.fifo', 'q.fif', 'q.fifox', 'a*', 'q\n']) {
      const err = thrown(() => checkQueueName(name));
      t.equal(err.code, 'InvalidParameterValue', JSON.stringify(name));
      t.equal(err.message, text);
      t.equal(err.context.queue, name);
    }
  });

  t.test('a missing name is MissingParameter', async (t) => {
    for (const name of ['', undefined, null, 42]) {
      const err = thrown(() => checkQueueName(name));
      t.equal(err.code, 'MissingParameter', String(name));
      t.equal(err.message, 'The request must contain the parameter QueueName.');
    }
  });

  t.test('isFifoName looks at the suffix', async (t) => {
    t.equal(isFifoName('q.fifo'), true);
    t.equal(isFifoName('q'), false);
    t.equal(isFifoName('q.FIFO'), false);
    t.equal(isFifoName('fifo'), false);
  });
});

t.test('queueNameFromArn', async (t) => {
  t.equal(queueNameFromArn('arn:aws:sqs:us-east-1:123456789012:dlq'), 'dlq');
  t.equal(queueNameFromArn('arn:aws:sqs:eu-west-1:000000000000:dlq.fifo'), 'dlq.fifo');
  t.equal(queueNameFromArn('arn:aws:sqs:us-east-1:123456789012:'), undefined, 'empty name');
  t.equal(queueNameFromArn('arn:aws:sns:us-east-1:123456789012:topic'), undefined, 'not sqs');
  t.equal(queueNameFromArn('arx:aws:sqs:us-east-1:123456789012:q'), undefined, 'not an arn');
  t.equal(queueNameFromArn('arn:aws:sqs:us-east-1:q'), undefined, 'too few parts');
  t.equal(queueNameFromArn('arn:aws:sqs:us-east-1:1:q:extra'), undefined, 'too many parts');
  t.equal(queueNameFromArn('dlq'), undefined);
});

// ---------------------------------------------------------------------------------------------
// parseQueueAttributes
// ---------------------------------------------------------------------------------------------

t.test('defaults', async (t) => {
  t.test('defaultQueueConfig uses QUEUE_DEFAULTS in engine units', async (t) => {
    t.same(defaultQueueConfig(false), {
      fifo: false,
      visibilityTimeoutMs: 30_000,
      delayMs: 0,
      retentionMs: 345_600_000,
      maxMessageBytes: 1_048_576,
      receiveWaitMs: 0,
      contentBasedDeduplication: false,
      deduplicationScope: 'queue',
      fifoThroughputLimit: 'perQueue',
    });
    t.equal(defaultQueueConfig(true).fifo, true);
    t.equal(defaultQueueConfig(false).visibilityTimeoutMs, QUEUE_DEFAULTS.visibilityTimeoutSeconds * 1000);
  });

  t.test('no attributes gives the defaults and leaves the base alone', async (t) => {
    const base = defaultQueueConfig(false);
    const snapshot = structuredClone(base);
    const config = parseQueueAttributes('q', {}, base, true);
    t.same(config, defaultQueueConfig(false));
    t.not(config, base, 'a new object');
    parseQueueAttributes('q', { VisibilityTimeout: '5', DelaySeconds: '7' }, base, true);
    t.same(base, snapshot, 'base not mutated');
  });
});

t.test('numeric attributes: range edges', async (t) => {
  const cases: [attribute: string, min: number, max: number, field: keyof QueueConfig | undefined, scale: number][] = [
    ['DelaySeconds', 0, 900, 'delayMs', 1000],
    ['MaximumMessageSize', 1024, 1_048_576, 'maxMessageBytes', 1],
    ['MessageRetentionPeriod', 60, 1_209_600, 'retentionMs', 1000],
    ['ReceiveMessageWaitTimeSeconds', 0, 20, 'receiveWaitMs', 1000],
    ['VisibilityTimeout', 0, 43_200, 'visibilityTimeoutMs', 1000],
    ['KmsDataKeyReusePeriodSeconds', 60, 86_400, undefined, 1],
  ];
  for (const [attribute, min, max, field, scale] of cases) {
    t.test(`${attribute} ${min}–${max}`, async (t) => {
      for (const value of [min, max]) {
        const config = create('q', { [attribute]: String(value) });
        if (field) t.equal(config[field], value * scale, `${value} accepted`);
        else t.same(config, defaultQueueConfig(false), `${value} accepted, config unchanged`);
      }
      for (const value of [min - 1, max + 1]) {
        const err = thrown(() => create('q', { [attribute]: String(value) }));
        t.equal(err.code, 'InvalidAttributeValue', `${value} refused`);
        t.match(err.message, new RegExp(`^Invalid value for the parameter ${attribute}\\. Reason: `));
        t.equal(err.context.attribute, attribute);
      }
      for (const value of ['', 'abc', '1.5', '1e2', ' 30', '0x10']) {
        t.equal(thrown(() => create('q', { [attribute]: value })).code, 'InvalidAttributeValue', JSON.stringify(value));
      }
    });
  }

  t.test('the reason names the range', async (t) => {
    t.equal(
      thrown(() => create('q', { DelaySeconds: '901' })).message,
      'Invalid value for the parameter DelaySeconds. Reason: Must be between 0 and 900.',
    );
    t.equal(
      thrown(() => create('q', { MaximumMessageSize: '1023' })).message,
      'Invalid value for the parameter MaximumMessageSize. Reason: Must be between 1024 and 1048576.',
    );
  });

  t.test('attributes apply on update too', async (t) => {
    const config = update('q', create('q'), { VisibilityTimeout: '45', MessageRetentionPeriod: '60' });
    t.equal(config.visibilityTimeoutMs, 45_000);
    t.equal(config.retentionMs, 60_000);
    t.equal(thrown(() => update('q', config, { VisibilityTimeout: '43201' })).code, 'InvalidAttributeValue');
  });
});

t.test('boolean and pass-through attributes', async (t) => {
  t.same(create('q', { SqsManagedSseEnabled: 'true' }), defaultQueueConfig(false));
  t.same(create('q', { SqsManagedSseEnabled: 'false' }), defaultQueueConfig(false));
  const err = thrown(() => create('q', { SqsManagedSseEnabled: 'yes' }));
  t.equal(err.code, 'InvalidAttributeValue');
  t.equal(err.message, 'Invalid value for the parameter SqsManagedSseEnabled. Reason: Must be true or false.');
  const passThrough = { Policy: '{"Version":"2012-10-17"}', RedriveAllowPolicy: '{"redrivePermission":"allowAll"}', KmsMasterKeyId: 'alias/aws/sqs' };
  t.same(create('q', passThrough), defaultQueueConfig(false), 'accepted, left to the metadata layer');
});

t.test('unknown attributes are InvalidAttributeName', async (t) => {
  for (const attribute of ['Foo', 'QueueArn', 'ApproximateNumberOfMessages', 'CreatedTimestamp', 'delayseconds', 'All', '']) {
    const err = thrown(() => create('q', { [attribute]: '1' }));
    t.equal(err.code, 'InvalidAttributeName', attribute);
    t.equal(err.message, `Unknown Attribute ${attribute}.`);
    t.equal(err.context.attribute, attribute);
  }
  t.equal(thrown(() => update('q', create('q'), { Bogus: 'x' })).code, 'InvalidAttributeName', 'on update too');
});

t.test('a non-string value is refused', async (t) => {
  const err = thrown(() => create('q', { DelaySeconds: 5 as unknown as string }));
  t.equal(err.code, 'InvalidAttributeValue');
  t.equal(err.message, 'Invalid value for the parameter DelaySeconds. Reason: Attribute values must be strings.');
});

t.test('FIFO-only attributes', async (t) => {
  t.test('are InvalidAttributeName on a standard queue', async (t) => {
    const cases: [string, string][] = [
      ['ContentBasedDeduplication', 'true'],
      ['DeduplicationScope', 'queue'],
      ['FifoThroughputLimit', 'perQueue'],
    ];
    for (const [attribute, value] of cases) {
      const err = thrown(() => create('q', { [attribute]: value }));
      t.equal(err.code, 'InvalidAttributeName', attribute);
      t.equal(err.message, `You can specify the ${attribute} only when FifoQueue is set to true.`);
      t.equal(thrown(() => update('q', create('q'), { [attribute]: value })).code, 'InvalidAttributeName', `${attribute} on update`);
    }
  });

  t.test('are accepted on a FIFO queue', async (t) => {
    const config = create('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    t.equal(config.fifo, true);
    t.equal(config.contentBasedDeduplication, true);
    t.equal(create('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'false' }).contentBasedDeduplication, false);
    t.equal(create('q.fifo', { FifoQueue: 'true', DeduplicationScope: 'messageGroup' }).deduplicationScope, 'messageGroup');
    t.equal(create('q.fifo', { FifoQueue: 'true', DeduplicationScope: 'queue' }).deduplicationScope, 'queue');
    t.equal(create('q.fifo', { FifoQueue: 'true', FifoThroughputLimit: 'perQueue' }).fifoThroughputLimit, 'perQueue');
  });

  t.test('high throughput: perMessageGroupId needs DeduplicationScope=messageGroup', async (t) => {
    const ht = create('q.fifo', { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    t.equal(ht.fifoThroughputLimit, 'perMessageGroupId');
    t.equal(ht.deduplicationScope, 'messageGroup');
    const err = thrown(() => create('q.fifo', { FifoQueue: 'true', FifoThroughputLimit: 'perMessageGroupId' }));
    t.equal(err.code, 'InvalidAttributeValue');
    t.match(err.message, /^Invalid value for the parameter FifoThroughputLimit\./);
    t.equal(thrown(() => update('q.fifo', ht, { DeduplicationScope: 'queue' })).code, 'InvalidAttributeValue', 'cannot drop the scope alone');
    t.equal(update('q.fifo', ht, { DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' }).deduplicationScope, 'queue');
  });

  t.test('bad values are InvalidAttributeValue', async (t) => {
    const cases: [string, string][] = [
      ['ContentBasedDeduplication', 'TRUE'],
      ['ContentBasedDeduplication', '1'],
      ['DeduplicationScope', 'group'],
      ['DeduplicationScope', 'Queue'],
      ['FifoThroughputLimit', 'perGroup'],
      ['FifoThroughputLimit', ''],
    ];
    for (const [attribute, value] of cases) {
      const err = thrown(() => create('q.fifo', { FifoQueue: 'true', [attribute]: value }));
      t.equal(err.code, 'InvalidAttributeValue', `${attribute}=${value}`);
      t.equal(err.context.attribute, attribute);
    }
  });
});

t.test('FifoQueue', async (t) => {
  t.test('a .fifo name with FifoQueue=true makes a FIFO queue', async (t) => {
    t.same(create('q.fifo', { FifoQueue: 'true' }), defaultQueueConfig(true));
  });

  t.test('a .fifo name needs FifoQueue=true on create', async (t) => {
    const err = thrown(() => create('q.fifo'));
    t.equal(err.code, 'InvalidAttributeValue');
    t.equal(err.context.attribute, 'FifoQueue');
    t.equal(thrown(() => create('q.fifo', { FifoQueue: 'false' })).code, 'InvalidAttributeValue');
  });

  t.test('FifoQueue=true on a name without .fifo is refused', async (t) => {
    const err = thrown(() => create('q', { FifoQueue: 'true' }));
    t.equal(err.code, 'InvalidAttributeValue');
    t.match(err.message, /^Invalid value for the parameter FifoQueue\. Reason: .*\.fifo suffix/);
  });

  t.test('a non-boolean FifoQueue is refused', async (t) => {
    const err = thrown(() => create('q.fifo', { FifoQueue: 'yes' }));
    t.equal(err.code, 'InvalidAttributeValue');
    t.equal(err.message, 'Invalid value for the parameter FifoQueue. Reason: Must be true or false.');
  });

  t.test('changing it on update is "Modifying queue type is not supported."', async (t) => {
    const fifo = create('q.fifo', { FifoQueue: 'true' });
    const err = thrown(() => update('q.fifo', fifo, { FifoQueue: 'false' }));
    t.equal(err.code, 'InvalidAttributeValue');
    t.equal(err.message, 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.');
    const std = create('q');
    t.equal(
      thrown(() => update('q', std, { FifoQueue: 'true' })).message,
      'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.',
    );
  });

  t.test('restating it, or leaving it out, on update is fine', async (t) => {
    const fifo = create('q.fifo', { FifoQueue: 'true' });
    t.same(update('q.fifo', fifo, { FifoQueue: 'true' }), fifo);
    t.equal(update('q.fifo', fifo, { VisibilityTimeout: '10' }).visibilityTimeoutMs, 10_000);
  });
});

t.test('RedrivePolicy', async (t) => {
  t.test('a valid policy names the dead-letter queue', async (t) => {
    const config = create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 5 }));
    t.same(config.redrive, { deadLetterQueue: 'dlq', deadLetterTargetArn: arn('dlq'), maxReceiveCount: 5 });
  });

  t.test('maxReceiveCount given as the string "5" is accepted', async (t) => {
    t.equal(create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: '5' })).redrive?.maxReceiveCount, 5);
  });

  t.test('maxReceiveCount 1 and 1000 pass; 0, 1001, non-integers and missing fail', async (t) => {
    t.equal(create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 1 })).redrive?.maxReceiveCount, 1);
    t.equal(create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 1000 })).redrive?.maxReceiveCount, 1000);
    for (const maxReceiveCount of [0, 1001, -1, 2.5, '2.5', 'abc', '', null, true, undefined]) {
      const err = thrown(() => create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount })));
      t.equal(err.code, 'InvalidAttributeValue', JSON.stringify(maxReceiveCount));
      t.equal(err.message, 'Invalid value for the parameter RedrivePolicy. Reason: Value for maxReceiveCount must be an integer between 1 and 1000.');
    }
  });

  t.test('malformed JSON or a non-map is refused', async (t) => {
    for (const text of ['{not json', '{"deadLetterTargetArn":', '[]', '"x"', 'null', '5', 'true']) {
      const err = thrown(() => create('src', redrive(text)));
      t.equal(err.code, 'InvalidAttributeValue', text);
      t.equal(err.message, 'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.');
    }
  });

  t.test('a missing deadLetterTargetArn is refused', async (t) => {
    for (const policy of [{ maxReceiveCount: 5 }, { deadLetterTargetArn: 7, maxReceiveCount: 5 }]) {
      const err = thrown(() => create('src', redrive(policy)));
      t.equal(err.code, 'InvalidAttributeValue');
      t.equal(err.message, 'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn.');
    }
  });

  t.test('a malformed ARN is refused', async (t) => {
    for (const target of ['dlq', 'arn:aws:sns:us-east-1:000000000000:topic', 'arn:aws:sqs:us-east-1:000000000000:']) {
      const err = thrown(() => create('src', redrive({ deadLetterTargetArn: target, maxReceiveCount: 5 })));
      t.equal(err.code, 'InvalidAttributeValue', target);
      t.match(err.message, /Invalid deadLetterTargetArn/);
    }
  });

  t.test('unknown policy keys are refused', async (t) => {
    const err = thrown(() => create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 5, extra: 1 })));
    t.equal(err.code, 'InvalidAttributeValue');
    t.match(err.message, /found extra/);
  });

  t.test('the dead-letter queue must be the same type (FIFO↔FIFO)', async (t) => {
    const text = 'Invalid value for the parameter RedrivePolicy. Reason: Dead-letter target owner queue and source queue must be of the same type (FIFO or standard).';
    t.equal(thrown(() => create('src', redrive({ deadLetterTargetArn: arn('dlq.fifo'), maxReceiveCount: 5 }))).message, text);
    t.equal(
      thrown(() => create('src.fifo', { FifoQueue: 'true', ...redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 5 }) })).message,
      text,
    );
    const fifo = create('src.fifo', { FifoQueue: 'true', ...redrive({ deadLetterTargetArn: arn('dlq.fifo'), maxReceiveCount: 3 }) });
    t.same(fifo.redrive, { deadLetterQueue: 'dlq.fifo', deadLetterTargetArn: arn('dlq.fifo'), maxReceiveCount: 3 });
  });

  t.test('an empty string removes it; a new policy replaces it', async (t) => {
    const withPolicy = create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 5 }));
    const removed = update('src', withPolicy, { RedrivePolicy: '' });
    t.equal(removed.redrive, undefined);
    t.notOk('redrive' in removed, 'the key is gone, not set to undefined');
    t.ok(withPolicy.redrive, 'the base keeps its policy');
    t.equal(create('src', { RedrivePolicy: '' }).redrive, undefined, 'empty on create is no policy');
    const replaced = update('src', withPolicy, redrive({ deadLetterTargetArn: arn('other'), maxReceiveCount: 9 }));
    t.same(replaced.redrive, { deadLetterQueue: 'other', deadLetterTargetArn: arn('other'), maxReceiveCount: 9 });
  });
});

// ---------------------------------------------------------------------------------------------
// formatQueueConfig
// ---------------------------------------------------------------------------------------------

t.test('formatQueueConfig', async (t) => {
  t.test('a new standard queue shows the SQS defaults', async (t) => {
    t.same(formatQueueConfig(defaultQueueConfig(false)), {
      DelaySeconds: '0',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      VisibilityTimeout: '30',
    });
  });

  t.test('a FIFO queue adds the FIFO attributes', async (t) => {
    t.same(formatQueueConfig(defaultQueueConfig(true)), {
      DelaySeconds: '0',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      VisibilityTimeout: '30',
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'queue',
      FifoThroughputLimit: 'perQueue',
    });
  });

  t.test('the redrive policy is JSON with the two SQS keys', async (t) => {
    const out = formatQueueConfig(create('src', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: '5' })));
    t.equal(out.RedrivePolicy, `{"deadLetterTargetArn":"${arn('dlq')}","maxReceiveCount":5}`);
  });

  t.test('round trip: parse(format(config)) gives the config back', async (t) => {
    const examples: [string, Record<string, string>][] = [
      ['q', {}],
      ['q', { DelaySeconds: '900', MaximumMessageSize: '1024', MessageRetentionPeriod: '60', ReceiveMessageWaitTimeSeconds: '20', VisibilityTimeout: '43200' }],
      ['q', redrive({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: 1000 })],
      ['q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }],
    ];
    for (const [name, attributes] of examples) {
      const config = create(name, attributes);
      t.same(create(name, formatQueueConfig(config)), config, `${name} ${JSON.stringify(attributes)}`);
    }
  });

  t.test('property: round trip over generated configs', async (t) => {
    const seconds = (min: number, max: number) => fc.integer({ min, max }).map(String);
    const common = {
      DelaySeconds: seconds(0, 900),
      MaximumMessageSize: seconds(1024, 1_048_576),
      MessageRetentionPeriod: seconds(60, 1_209_600),
      ReceiveMessageWaitTimeSeconds: seconds(0, 20),
      VisibilityTimeout: seconds(0, 43_200),
    };
    const dlqName = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
    const maxReceive = fc.integer({ min: 1, max: 1000 });
    const standard = fc.record(
      { ...common, RedrivePolicy: fc.tuple(dlqName, maxReceive).map(([n, c]) => JSON.stringify({ deadLetterTargetArn: arn(n), maxReceiveCount: c })) },
      { requiredKeys: [] },
    ).map((attrs): [string, Record<string, string>] => ['q', attrs]);
    // DeduplicationScope and FifoThroughputLimit in the combinations SQS accepts (either may be left out).
    const throughput = fc.constantFrom<Record<string, string>>(
      {},
      { DeduplicationScope: 'queue' },
      { DeduplicationScope: 'messageGroup' },
      { FifoThroughputLimit: 'perQueue' },
      { DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' },
      { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perQueue' },
      { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    );
    const fifo = fc
      .tuple(
        fc.record(
          {
            ...common,
            RedrivePolicy: fc.tuple(dlqName, maxReceive).map(([n, c]) => JSON.stringify({ deadLetterTargetArn: arn(`${n}.fifo`), maxReceiveCount: c })),
            ContentBasedDeduplication: fc.constantFrom('true', 'false'),
          },
          { requiredKeys: [] },
        ),
        throughput,
      )
      .map(([attrs, tp]): [string, Record<string, string>] => ['q.fifo', { ...attrs, ...tp, FifoQueue: 'true' }]);

    fc.assert(
      fc.property(fc.oneof(standard, fifo), ([name, attributes]) => {
        const config = create(name, attributes);
        const again = create(name, formatQueueConfig(config));
        return isDeepStrictEqual(again, config);
      }),
      { seed: SEED, numRuns: 300 },
    );
    t.pass('held for 300 runs');
  });
});
