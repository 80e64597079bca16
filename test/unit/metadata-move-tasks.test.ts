// Message move tasks (metadata-service/src/core/move-tasks.ts) against SQS-REFERENCE.md §1.2
// (StartMessageMoveTask, CancelMessageMoveTask, ListMessageMoveTasks), §1.6 "DLQ" and §1.7:
// start rules and error texts, the lifecycle table, task handles, listing, where messages go and
// what is sent for them, and pacing to MaxNumberOfMessagesPerSecond.
import t from 'tap';
import fc from 'fast-check';
import type { NativeReceivedMessage } from '@conveyor/client-sdk/wire';
import { thrown } from '../support/index.ts';
import {
  MOVE_TASK_DEFAULTS,
  MOVE_TASK_STATUSES,
  MOVE_TASK_TRANSITIONS,
  NO_MESSAGE_SOURCE,
  canTransition,
  cancelTask,
  chargePacer,
  checkListMaxResults,
  checkStart,
  destinationOf,
  effectiveRate,
  encodeTaskHandle,
  finishTask,
  isActive,
  newTask,
  paceBatch,
  parseTaskHandle,
  planBatch,
  recentTasks,
  recordProgress,
  redriveEntry,
  refusedDestination,
  startPacer,
  taskView,
  tasksToPrune,
  transition,
  type MoveTask,
  type MoveTaskStatus,
  type QueueFacts,
  type StartRequest,
} from '../../metadata-service/src/core/move-tasks.ts';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

const NOW = 1_700_000_000_123;
const arn = (name: string) => `arn:aws:sqs:us-east-1:123456789012:${name}`;
const QUEUES: Record<string, QueueFacts> = {
  [arn('dlq')]: { name: 'dlq', arn: arn('dlq'), fifo: false, isDeadLetterQueue: true },
  [arn('plain')]: { name: 'plain', arn: arn('plain'), fifo: false, isDeadLetterQueue: false },
  [arn('other')]: { name: 'other', arn: arn('other'), fifo: false, isDeadLetterQueue: false },
  [arn('dlq.fifo')]: { name: 'dlq.fifo', arn: arn('dlq.fifo'), fifo: true, isDeadLetterQueue: true },
  [arn('other.fifo')]: { name: 'other.fifo', arn: arn('other.fifo'), fifo: true, isDeadLetterQueue: false },
};
const lookup = (a: string): QueueFacts | undefined => QUEUES[a];
const start = (request: StartRequest, active = false) => checkStart(request, lookup, () => active);

function task(more: Partial<MoveTask> = {}): MoveTask {
  return { taskId: 'task-1', sourceArn: arn('dlq'), sourceQueue: 'dlq', status: 'RUNNING', moved: 0, toMove: 10, startedAt: NOW, updatedAt: NOW, ...more };
}

function message(more: Partial<NativeReceivedMessage> & { system?: Partial<NativeReceivedMessage['systemAttributes']> } = {}): NativeReceivedMessage {
  const { system, ...rest } = more;
  return {
    messageId: 'id-1',
    receiptHandle: 'rh-1',
    body: 'hello',
    md5OfBody: '5d41402abc4b2a76b9719d911017c592',
    systemAttributes: { SentTimestamp: '1', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '1', ...system },
    ...rest,
  };
}

t.test('StartMessageMoveTask: SQS rules and texts', async (t) => {
  const ok = start({ sourceArn: arn('dlq') });
  t.same([ok.source.name, ok.destination, ok.maxMessagesPerSecond], ['dlq', undefined, undefined], 'a DLQ with no destination and no rate');
  const full = start({ sourceArn: arn('dlq'), destinationArn: arn('other'), maxMessagesPerSecond: 7 });
  t.same([full.destination?.name, full.maxMessagesPerSecond], ['other', 7], 'destination and rate as given');
  t.equal(start({ sourceArn: arn('dlq'), destinationArn: '' }).destination, undefined, 'an empty DestinationArn means the original sources');

  const missing = thrown(() => start({}));
  t.same([missing.code, missing.message], ['MissingParameter', 'The request must contain the parameter SourceArn.']);
  const notString = thrown(() => start({ sourceArn: 5 }));
  t.equal(notString.code, 'InvalidParameterValue', 'a SourceArn that is not a string');

  const noSource = thrown(() => start({ sourceArn: arn('nope') }));
  t.same([noSource.code, noSource.status, noSource.message], ['ResourceNotFoundException', 404, "The resource that you specified for the SourceArn parameter doesn't exist."]);
  const notDlq = thrown(() => start({ sourceArn: arn('plain') }));
  t.same([notDlq.code, notDlq.status, notDlq.message], ['InvalidParameterValue', 400, 'Source queue must be configured as a Dead Letter Queue.']);
  const noDestination = thrown(() => start({ sourceArn: arn('dlq'), destinationArn: arn('nope') }));
  t.same([noDestination.code, noDestination.status, noDestination.message], ['ResourceNotFoundException', 404, "The resource that you specified for the DestinationArn parameter doesn't exist."]);
  const running = thrown(() => start({ sourceArn: arn('dlq') }, true));
  t.same([running.code, running.message], ['InvalidParameterValue', 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.']);
  t.equal(thrown(() => start({ sourceArn: arn('dlq'), destinationArn: arn('dlq') })).code, 'InvalidParameterValue', 'the source is not its own destination');
  t.match(thrown(() => start({ sourceArn: arn('dlq'), destinationArn: arn('other.fifo') })).message, /same type/, 'standard → FIFO is refused');
  t.match(thrown(() => start({ sourceArn: arn('dlq.fifo'), destinationArn: arn('other') })).message, /same type/, 'FIFO → standard is refused');
  t.equal(start({ sourceArn: arn('dlq.fifo'), destinationArn: arn('other.fifo') }).destination?.fifo, true, 'FIFO → FIFO is fine');
  t.equal(thrown(() => start({ sourceArn: arn('plain') }, true)).message, 'Source queue must be configured as a Dead Letter Queue.', 'a bad source is named before a running task');
});

t.test('MaxNumberOfMessagesPerSecond is an integer 1–500', async (t) => {
  for (const good of [1, 2, 499, 500]) t.equal(start({ sourceArn: arn('dlq'), maxMessagesPerSecond: good }).maxMessagesPerSecond, good, `${good} is accepted`);
  for (const bad of [0, -1, 501, 1.5, '10', Number.NaN]) {
    const error = thrown(() => start({ sourceArn: arn('dlq'), maxMessagesPerSecond: bad }));
    t.same([error.code, error.context.parameter], ['InvalidParameterValue', 'MaxNumberOfMessagesPerSecond'], `${String(bad)} is refused`);
  }
  t.match(thrown(() => start({ sourceArn: arn('dlq'), maxMessagesPerSecond: 501 })).message, /Must be between 1 and 500/);
  t.equal(effectiveRate({}), MOVE_TASK_DEFAULTS.defaultMessagesPerSecond, 'no rate: the default');
  t.ok(MOVE_TASK_DEFAULTS.defaultMessagesPerSecond >= 1 && MOVE_TASK_DEFAULTS.defaultMessagesPerSecond <= 500, 'which is within SQS\'s bounds');
  t.equal(effectiveRate({ maxMessagesPerSecond: 3 }), 3);
});

t.test('a new task', async (t) => {
  const created = newTask(start({ sourceArn: arn('dlq'), destinationArn: arn('other'), maxMessagesPerSecond: 9 }), { taskId: 'abc', toMove: 42, now: NOW });
  t.same(created, { taskId: 'abc', sourceArn: arn('dlq'), sourceQueue: 'dlq', destinationArn: arn('other'), maxMessagesPerSecond: 9, status: 'RUNNING', moved: 0, toMove: 42, startedAt: NOW, updatedAt: NOW });
  const bare = newTask(start({ sourceArn: arn('dlq') }), { taskId: 'abc', toMove: -3, now: NOW });
  t.notOk('destinationArn' in bare || 'maxMessagesPerSecond' in bare, 'no destination or rate unless requested');
  t.equal(bare.toMove, 0, 'never a negative count');
});

t.test('the lifecycle is the transition table, and nothing else', async (t) => {
  t.same(MOVE_TASK_TRANSITIONS, { RUNNING: ['COMPLETED', 'CANCELLING', 'FAILED'], CANCELLING: ['CANCELLED', 'FAILED'], COMPLETED: [], CANCELLED: [], FAILED: [] });
  t.ok(Object.isFrozen(MOVE_TASK_TRANSITIONS) && Object.isFrozen(MOVE_TASK_TRANSITIONS.RUNNING), 'frozen');
  for (const from of MOVE_TASK_STATUSES) {
    for (const to of MOVE_TASK_STATUSES) {
      const legal = (MOVE_TASK_TRANSITIONS[from] as readonly MoveTaskStatus[]).includes(to);
      t.equal(canTransition(from, to), legal, `${from} → ${to}`);
      if (legal) {
        const next = transition(task({ status: from }), to, NOW + 5, 'why');
        t.same([next.status, next.updatedAt], [to, NOW + 5]);
      } else {
        const error = thrown(() => transition(task({ status: from }), to, NOW));
        t.ok(error.message.includes(from) && error.message.includes(to), `the error names both states: ${error.message}`);
      }
    }
  }
  t.equal(transition(task(), 'FAILED', NOW, 'AWS.SimpleQueueService.NonExistentQueue').failureReason, 'AWS.SimpleQueueService.NonExistentQueue', 'FAILED keeps its reason');
  t.notOk('failureReason' in transition(task(), 'COMPLETED', NOW), 'other states have none');
  t.same(MOVE_TASK_STATUSES.filter(isActive), ['RUNNING', 'CANCELLING'], 'RUNNING and CANCELLING are active');
});

t.test('cancel: only while RUNNING; CANCELLING until the driver stops', async (t) => {
  const cancelling = cancelTask(task({ moved: 4 }), NOW + 1);
  t.same([cancelling.status, cancelling.moved], ['CANCELLING', 4]);
  for (const status of ['CANCELLING', 'COMPLETED', 'CANCELLED', 'FAILED'] as const) {
    const error = thrown(() => cancelTask(task({ status }), NOW));
    t.same([error.code, error.context.status], ['InvalidParameterValue', status], `not while ${status}`);
  }
  t.equal(finishTask(cancelling, { kind: 'cancelSeen' }, NOW).status, 'CANCELLED', 'the driver sees the cancel');
  t.equal(finishTask(cancelling, { kind: 'sourceEmpty' }, NOW).status, 'CANCELLED', 'an empty source after a cancel is still CANCELLED');
  t.equal(finishTask(task(), { kind: 'sourceEmpty' }, NOW).status, 'COMPLETED', 'an empty source completes a running task');
  const failed = finishTask(cancelling, { kind: 'failed', reason: 'x' }, NOW);
  t.same([failed.status, failed.failureReason], ['FAILED', 'x']);
  t.throws(() => finishTask(task({ status: 'COMPLETED' }), { kind: 'sourceEmpty' }, NOW), 'a final task does not finish again');
});

t.test('progress counts only forward, and only while active', async (t) => {
  t.equal(recordProgress(recordProgress(task(), 3, NOW), 4, NOW).moved, 7);
  const same = task();
  t.equal(recordProgress(same, 0, NOW), same, 'nothing moved, nothing changed');
  t.throws(() => recordProgress(task(), -1, NOW));
  t.throws(() => recordProgress(task(), 1.5, NOW));
  t.equal(recordProgress(task({ status: 'CANCELLING', moved: 2 }), 1, NOW).moved, 3, 'a cancelling task still counts what it moved');
  t.throws(() => recordProgress(task({ status: 'COMPLETED' }), 1, NOW), 'a finished task moves nothing more');
});

t.test('task handles round-trip; anything else is InvalidParameterValue', async (t) => {
  fc.assert(
    fc.property(fc.uuid(), fc.string({ minLength: 1, maxLength: 80 }), (id, name) => {
      const handle = encodeTaskHandle(id, arn(name));
      return /^[A-Za-z0-9_-]+$/.test(handle) && JSON.stringify(parseTaskHandle(handle)) === JSON.stringify({ taskId: id, sourceArn: arn(name) });
    }),
    { seed: SEED },
  );
  for (const bad of ['foobared', '', 'a/b', Buffer.from('{"taskId":1,"sourceArn":"x"}').toString('base64url'), Buffer.from('not json').toString('base64url'), encodeTaskHandle('../../x', arn('dlq')), 7, undefined]) {
    const error = thrown(() => parseTaskHandle(bad));
    t.same([error.code, error.message], ['InvalidParameterValue', 'Value for parameter TaskHandle is invalid.'], `refused: ${String(bad)}`);
  }
});

t.test('listing: newest first, MaxResults 1–10 (default 1), handles only while RUNNING', async (t) => {
  t.equal(checkListMaxResults(undefined), 1, 'default 1');
  t.equal(checkListMaxResults(10), 10);
  for (const bad of [0, 11, 2.5, '3']) t.equal(thrown(() => checkListMaxResults(bad)).code, 'InvalidParameterValue', `${String(bad)} is refused`);
  const tasks = [task({ taskId: 'a', startedAt: 1 }), task({ taskId: 'c', startedAt: 3 }), task({ taskId: 'b', startedAt: 2 })];
  t.same(recentTasks(tasks, 10).map((x) => x.taskId), ['c', 'b', 'a']);
  t.same(recentTasks(tasks, 1).map((x) => x.taskId), ['c']);

  const running = taskView(task({ destinationArn: arn('other'), maxMessagesPerSecond: 5, moved: 2 }));
  t.same(running, { taskHandle: encodeTaskHandle('task-1', arn('dlq')), status: 'RUNNING', sourceArn: arn('dlq'), destinationArn: arn('other'), maxMessagesPerSecond: 5, moved: 2, toMove: 10, startedAt: NOW });
  for (const status of ['CANCELLING', 'COMPLETED', 'CANCELLED', 'FAILED'] as const) t.notOk('taskHandle' in taskView(task({ status })), `no handle when ${status}`);
  t.equal(taskView(task({ status: 'FAILED', failureReason: 'r' })).failureReason, 'r', 'FailureReason when FAILED');
  t.notOk('failureReason' in taskView(task({ status: 'COMPLETED', failureReason: 'r' })), 'and only then');
});

t.test('pruning keeps active tasks and the most recent finished ones', async (t) => {
  const finished = Array.from({ length: 13 }, (_, i) => task({ taskId: `f${i}`, status: 'COMPLETED', startedAt: i }));
  const active = task({ taskId: 'live', startedAt: -1 });
  t.same(tasksToPrune([...finished, active], 10).sort(), ['f0', 'f1', 'f2']);
  t.same(tasksToPrune(finished.slice(0, 10), 10), [], 'ten finished tasks are all kept');
  t.same(tasksToPrune([task({ status: 'CANCELLING' }), active], 0), [], 'active tasks are never pruned');
});

t.test('where messages go', async (t) => {
  const origin = arn('orders');
  t.same(destinationOf(task({ destinationArn: arn('other') }), message({ system: { DeadLetterQueueSourceArn: origin } })), { arn: arn('other') }, 'the task\'s destination wins');
  t.same(destinationOf(task(), message({ system: { DeadLetterQueueSourceArn: origin } })), { arn: origin }, 'else back where it was dead-lettered from');
  t.same(destinationOf(task(), message()), { failure: NO_MESSAGE_SOURCE }, 'a message sent straight to the DLQ has no source');

  const msgs = [
    message({ messageId: '1', system: { DeadLetterQueueSourceArn: arn('a') } }),
    message({ messageId: '2', system: { DeadLetterQueueSourceArn: arn('b') } }),
    message({ messageId: '3', system: { DeadLetterQueueSourceArn: arn('a') } }),
  ];
  const plan = planBatch(task(), msgs);
  t.ok('batches' in plan);
  if ('batches' in plan) t.same([...plan.batches].map(([d, ms]) => [d, ms.map((m) => m.messageId)]), [[arn('a'), ['1', '3']], [arn('b'), ['2']]], 'grouped by destination, in receive order');
  t.same(planBatch(task(), [...msgs, message()]), { failure: NO_MESSAGE_SOURCE }, 'one message without a source fails the batch');
});

t.test('what is sent for a moved message', async (t) => {
  const attributes = { color: { DataType: 'String', StringValue: 'blue' }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2]) } };
  const m = message({ body: 'payload', attributes, system: { MessageGroupId: 'g1', MessageDeduplicationId: 'd1', AWSTraceHeader: 'Root=1', SenderId: 'AID', SequenceNumber: '5', DeadLetterQueueSourceArn: arn('x') } });
  const { redriveKey, ...fifo } = redriveEntry(m, 'm0', true);
  t.same(fifo, { id: 'm0', body: 'payload', attributes, groupId: 'g1', dedupId: 'd1', traceHeader: 'Root=1', senderId: 'AID' }, 'FIFO: body, attributes, group and dedup ids, trace header, sender');
  t.equal(redriveEntry(m, 'm9', true).redriveKey, redriveKey, 'one receive, one move key: a retried batch is deduplicated');
  t.not(redriveEntry(message({ ...m, receiptHandle: 'rh-2' }), 'm0', true).redriveKey, redriveKey, 'another receive of the message, another key');
  t.same(redriveEntry(m, 'm1', false), { id: 'm1', body: 'payload', attributes, groupId: 'g1', traceHeader: 'Root=1', senderId: 'AID' }, 'standard: no dedup id');
  t.same(redriveEntry(message({ attributes: {} }), 'm2', false), { id: 'm2', body: 'hello' }, 'nothing that was not there');
});

t.test('pacing never runs ahead of the rate', async (t) => {
  // A driver that waits as told, takes up to maxMessages (the source may hold fewer), and may be
  // late by any amount: between the starts of any two batches, the batches started in between
  // moved no more than the rate allows (so idle time is not banked into a burst either).
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500 }),
      fc.array(fc.record({ fill: fc.double({ min: 0, max: 1, noNaN: true }), lateMs: fc.oneof(fc.constant(0), fc.nat(3_000)) }), { maxLength: 60 }),
      (rate, rounds) => {
        let now = 1_000_000;
        let pacer = startPacer(now);
        const batches: Array<{ at: number; taken: number }> = [];
        for (const round of rounds) {
          const { waitMs, maxMessages } = paceBatch(pacer, now, rate);
          if (maxMessages < 1 || maxMessages > MOVE_TASK_DEFAULTS.batchSize || maxMessages > Math.max(1, rate)) return false;
          now += waitMs + round.lateMs;
          const taken = Math.floor(round.fill * (maxMessages + 1)) % (maxMessages + 1);
          pacer = chargePacer(pacer, now, taken, rate);
          batches.push({ at: now, taken });
        }
        for (let i = 0; i < batches.length; i++) {
          let moved = 0;
          for (let j = i + 1; j < batches.length; j++) {
            moved += batches[j - 1]!.taken;
            if (moved > (rate * (batches[j]!.at - batches[i]!.at)) / 1000 + 1e-9) return false;
          }
        }
        return true;
      },
    ),
    { seed: SEED },
  );
  t.pass('checked');
});

t.test('pacing reaches the rate when the source is full', async (t) => {
  for (const rate of [1, 3, 10, 37, 500]) {
    let now = 0;
    let pacer = startPacer(now);
    let moved = 0;
    while (moved < 10 * rate) {
      const { waitMs, maxMessages } = paceBatch(pacer, now, rate);
      now += waitMs;
      pacer = chargePacer(pacer, now, maxMessages, rate);
      moved += maxMessages;
    }
    // 10 × rate messages: the last batch starts after (10 × rate − last batch) / rate seconds
    // (waits are whole milliseconds, so each batch may start up to 1 ms late).
    const batch = Math.min(10, rate);
    const ideal = ((10 * rate - batch) * 1000) / rate;
    t.ok(now >= ideal && now <= ideal + (10 * rate) / batch, `rate ${rate}: ${moved} messages by ${now} ms (ideal ${ideal.toFixed(1)})`);
  }
  t.same(paceBatch(startPacer(5), 5, 1), { waitMs: 0, maxMessages: 1 }, 'the first batch goes at once; rate 1 moves one at a time');
  t.same(paceBatch(chargePacer(startPacer(0), 0, 1, 1), 250, 1), { waitMs: 750, maxMessages: 1 }, 'then one per second');
  t.equal(chargePacer(startPacer(0), 60_000, 0, 10).nextAt, 60_000, 'idle time is not banked into a burst');
});

t.test('a task remembers who started it; without a destination it goes back only to sources that caller may send to', async (t) => {
  const caller = '111111111111';
  const started = newTask(start({ sourceArn: arn('dlq'), caller }), { taskId: 't', toMove: 1, now: NOW });
  t.equal(started.caller, caller, 'the caller is recorded with the task');
  t.notOk('caller' in newTask(start({ sourceArn: arn('dlq') }), { taskId: 't', toMove: 1, now: NOW }), 'an operator’s task names none');
  for (const bad of ['12345', 42, '', 'abcdefghijkl']) t.equal(thrown(() => start({ sourceArn: arn('dlq'), caller: bad })).code, 'InvalidParameterValue', `caller ${JSON.stringify(bad)} is refused`);

  const allowed = new Set([arn('mine')]);
  const maySend = (who: string, to: string): boolean => who === caller && allowed.has(to);
  t.equal(refusedDestination(task({ caller }), [arn('mine')], maySend), undefined, 'a source the caller may send to passes');
  t.equal(refusedDestination(task({ caller }), [arn('mine'), arn('theirs')], maySend), arn('theirs'), 'one it may not is named');
  t.equal(refusedDestination(task({ caller, destinationArn: arn('other') }), [arn('other')], () => false), undefined, 'a task with a destination was checked when it started');
  t.equal(refusedDestination(task(), [arn('theirs')], () => false), undefined, 'an operator’s task is not checked');
});
