/**
 * The public door's security through a whole local stack: SigV4 authentication (every failure
 * kind is a 403 with SQS's code and changes nothing), per-account queues and queue policies
 * (another account sees a queue exactly as a missing one until the policy grants it, and then
 * only what was granted), dead-letter targets and move tasks, the native API, and HTTPS.
 */
import { execFile } from 'node:child_process';
import { Agent as HttpsAgent } from 'node:https';
import t from 'tap';
import { request } from 'undici';
import {
  AddPermissionCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  RemovePermissionCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  DeleteQueueCommand,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Conveyor, NativeClient, decodeNative, encodeNative } from '@conveyor/client-sdk';
import { OTHER_TEST_CREDENTIALS, TEST_CREDENTIALS, makeTempDir, presigned, rejection, removeTempDir, selfSignedCertificate, signedHeaders, sqsError, startFrontend, startStack } from '../support/index.ts';

const A = TEST_CREDENTIALS.accountId;
const B = OTHER_TEST_CREDENTIALS.accountId;
const JSON_TYPE = 'application/x-amz-json-1.0';

const stack = await startStack();
t.teardown(() => stack.close());
const endpoint = stack.endpoint;
const client = (credentials: typeof TEST_CREDENTIALS): SQSClient => new SQSClient({ endpoint, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });
const sqsA = client(TEST_CREDENTIALS);
const sqsB = client(OTHER_TEST_CREDENTIALS);
t.teardown(() => {
  sqsA.destroy();
  sqsB.destroy();
});

interface Answer {
  status: number;
  code: string | undefined;
  body: Record<string, unknown>;
}

/** One raw JSON-protocol call with whatever headers the case wants. */
async function raw(action: string, payload: unknown, headers: Record<string, string>, url = `${endpoint}/`, body = JSON.stringify(payload)): Promise<Answer> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': JSON_TYPE, 'x-amz-target': `AmazonSQS.${action}`, ...headers }, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  const queryError = res.headers['x-amzn-query-error'];
  return { status: res.statusCode, code: typeof queryError === 'string' ? queryError.split(';')[0] : undefined, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const baseHeaders = (action: string): Record<string, string> => ({ 'content-type': JSON_TYPE, 'x-amz-target': `AmazonSQS.${action}` });
const sign = (action: string, payload: unknown, options: Parameters<typeof signedHeaders>[3] = {}): Promise<Record<string, string>> => signedHeaders(`${endpoint}/`, baseHeaders(action), JSON.stringify(payload), options);

/** Asked by the owner itself (another account would be told "missing" anyway). */
async function queueExists(name: string, owner = TEST_CREDENTIALS): Promise<boolean> {
  const res = await raw('GetQueueUrl', { QueueName: name }, await sign('GetQueueUrl', { QueueName: name }, { credentials: owner }));
  if (res.status === 200) return true;
  if (res.code === 'AWS.SimpleQueueService.NonExistentQueue') return false;
  throw new Error(`GetQueueUrl answered ${res.status} ${JSON.stringify(res.body)}`);
}

async function visibleCount(queueUrl: string, sqs = sqsA): Promise<string | undefined> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Attributes?.ApproximateNumberOfMessages;
}

t.test('authentication: every failure is a 403 with SQS’s code and no side effect', async (t) => {
  const { QueueUrl: target } = await sqsA.send(new CreateQueueCommand({ QueueName: 'auth-target' }));
  const send = { QueueUrl: target, MessageBody: 'must not arrive' };
  const create = { QueueName: 'auth-ghost' };
  const now = Date.now();

  const cases: Array<{ what: string; code: string; answer: () => Promise<Answer> }> = [
    { what: 'no signature at all', code: 'MissingAuthenticationToken', answer: async () => raw('CreateQueue', create, {}) },
    { what: 'an Authorization header without Signature', code: 'IncompleteSignature', answer: async () => raw('CreateQueue', create, { authorization: `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date`, 'x-amz-date': '20260101T000000Z' }) },
    { what: 'another algorithm', code: 'IncompleteSignature', answer: async () => raw('CreateQueue', create, { authorization: 'AWS AKIAEXAMPLE:abc' }) },
    {
      what: 'a malformed X-Amz-Date',
      code: 'IncompleteSignature',
      answer: async () => raw('CreateQueue', create, { ...(await sign('CreateQueue', create)), 'x-amz-date': 'yesterday' }),
    },
    { what: 'an unknown access key', code: 'InvalidClientTokenId', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: TEST_CREDENTIALS.secretAccessKey } })) },
    { what: 'a forged signature (wrong secret)', code: 'SignatureDoesNotMatch', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { credentials: { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret-at-all' } })) },
    {
      what: 'a body changed after signing',
      code: 'SignatureDoesNotMatch',
      answer: async () => raw('SendMessage', send, await sign('SendMessage', { ...send, MessageBody: 'signed body' })),
    },
    {
      what: 'a body changed after signing, without x-amz-content-sha256',
      code: 'SignatureDoesNotMatch',
      answer: async () => {
        const { 'x-amz-content-sha256': _hash, ...headers } = await sign('SendMessage', { ...send, MessageBody: 'signed body' });
        return raw('SendMessage', send, headers);
      },
    },
    { what: 'signed 10 minutes ago', code: 'RequestExpired', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { date: new Date(now - 10 * 60_000) })) },
    { what: 'dated 10 minutes ahead', code: 'RequestExpired', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { date: new Date(now + 10 * 60_000) })) },
    { what: 'scoped to another region', code: 'SignatureDoesNotMatch', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { region: 'eu-west-1' })) },
    { what: 'scoped to another service', code: 'SignatureDoesNotMatch', answer: async () => raw('CreateQueue', create, await sign('CreateQueue', create, { service: 'sns' })) },
    {
      what: 'a presigned request past its X-Amz-Expires',
      code: 'RequestExpired',
      answer: async () => {
        const p = await presigned(`${endpoint}/`, baseHeaders('CreateQueue'), JSON.stringify(create), { expiresInSeconds: 60, date: new Date(now - 3 * 60_000) });
        return raw('CreateQueue', create, p.headers, p.url);
      },
    },
    {
      what: 'a presigned request with a forged signature',
      code: 'SignatureDoesNotMatch',
      answer: async () => {
        const p = await presigned(`${endpoint}/`, baseHeaders('CreateQueue'), JSON.stringify(create), { expiresInSeconds: 300 });
        return raw('CreateQueue', create, p.headers, p.url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`));
      },
    },
  ];
  for (const c of cases) {
    const answer = await c.answer();
    t.equal(answer.status, 403, `${c.what}: 403`);
    t.equal(answer.code, c.code, `${c.what}: ${c.code}`);
    t.type(answer.body.message, 'string', `${c.what}: with a message`);
  }
  t.notOk(await queueExists('auth-ghost'), 'no refused CreateQueue created the queue');
  t.equal(await visibleCount(target!), '0', 'no refused SendMessage enqueued anything');

  const ok = await presigned(`${endpoint}/`, baseHeaders('CreateQueue'), JSON.stringify({ QueueName: 'auth-presigned' }), { expiresInSeconds: 300 });
  const made = await raw('CreateQueue', { QueueName: 'auth-presigned' }, ok.headers, ok.url);
  t.equal(made.status, 200, 'a valid presigned request is served');
  t.ok(await queueExists('auth-presigned'), 'and did what it asked');

  const unsigned = new NativeClient({ nodes: [endpoint], deadlineMs: 2_000 });
  t.teardown(() => unsigned.close());
  t.equal((await rejection(unsigned.call('CreateQueue', { queue: 'auth-native-ghost' }))).code, 'MissingAuthenticationToken', 'the native API refuses unsigned calls (in msgpack)');
  const res = await request(`${endpoint}/native/ListQueues`, { method: 'POST', headers: { 'content-type': 'application/x-msgpack' }, body: Buffer.from([0x80]) });
  t.equal(res.statusCode, 403, 'with a 403');
  t.equal((decodeNative(Buffer.from(await res.body.arrayBuffer())) as { error: { code: string } }).error.code, 'MissingAuthenticationToken', 'a msgpack error body');
  t.notOk(await queueExists('auth-native-ghost'), 'and created nothing');
  t.equal((await request(`${endpoint}/health`)).statusCode, 200, 'the health probe needs no signature');
});

t.test('accounts: queue names are per account; another account sees a queue as missing until the policy grants it', async (t) => {
  const { QueueUrl: ordersA } = await sqsA.send(new CreateQueueCommand({ QueueName: 'orders' }));
  t.equal(ordersA, `${endpoint}/${A}/orders`, 'queue URLs name the owner’s account');
  const { QueueUrl: ordersB } = await sqsB.send(new CreateQueueCommand({ QueueName: 'orders' }));
  t.equal(ordersB, `${endpoint}/${B}/orders`, 'another account has its own queue of the same name');
  await sqsB.send(new SendMessageCommand({ QueueUrl: ordersB, MessageBody: 'for B' }));
  t.equal(await visibleCount(ordersA!), '0', 'the two are separate queues');
  t.equal(await visibleCount(ordersB!, sqsB), '1', 'each with its own messages');

  const listedB = (await sqsB.send(new ListQueuesCommand({}))).QueueUrls ?? [];
  t.same(listedB, [ordersB], 'ListQueues shows only the caller’s queues');
  const { QueueUrl: aOnly } = await sqsA.send(new CreateQueueCommand({ QueueName: 'a-private' }));

  const missing = await sqsError(sqsB.send(new GetQueueUrlCommand({ QueueName: 'never-made', QueueOwnerAWSAccountId: A })));
  const forbidden = await sqsError(sqsB.send(new GetQueueUrlCommand({ QueueName: 'a-private', QueueOwnerAWSAccountId: A })));
  t.same([forbidden.name, forbidden.code, forbidden.status, forbidden.message], [missing.name, missing.code, missing.status, missing.message], 'GetQueueUrl: a forbidden queue is answered exactly as a missing one');
  t.equal(forbidden.code, 'AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist');
  const neverUrl = `${endpoint}/${A}/never-made`;
  for (const [what, call] of [
    ['SendMessage', (url: string) => sqsB.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))],
    ['ReceiveMessage', (url: string) => sqsB.send(new ReceiveMessageCommand({ QueueUrl: url }))],
    ['GetQueueAttributes', (url: string) => sqsB.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))],
    ['PurgeQueue', (url: string) => sqsB.send(new PurgeQueueCommand({ QueueUrl: url }))],
    ['DeleteQueue', (url: string) => sqsB.send(new DeleteQueueCommand({ QueueUrl: url }))],
  ] as const) {
    const a = await sqsError(call(aOnly!));
    const b = await sqsError(call(neverUrl));
    t.same([a.code, a.status, a.message], [b.code, b.status, b.message], `${what} on another account’s queue: the same answer as on a missing one`);
  }
  t.ok(await queueExists('a-private'), 'B’s DeleteQueue did not delete A’s queue');

  await sqsA.send(new AddPermissionCommand({ QueueUrl: ordersA, Label: 'b-sends', AWSAccountIds: [B], Actions: ['SendMessage'] }));
  await sqsB.send(new SendMessageCommand({ QueueUrl: ordersA, MessageBody: 'from B' }));
  const got = await sqsA.send(new ReceiveMessageCommand({ QueueUrl: ordersA, MessageSystemAttributeNames: ['SenderId'] }));
  t.equal(got.Messages?.[0]?.Body, 'from B', 'AddPermission lets B send to A’s queue');
  t.equal(got.Messages?.[0]?.Attributes?.SenderId, B, 'as B');
  t.equal((await sqsError(sqsB.send(new ReceiveMessageCommand({ QueueUrl: ordersA })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'but not receive: only the granted action');
  t.equal((await sqsError(sqsB.send(new SetQueueAttributesCommand({ QueueUrl: ordersA, Attributes: { DelaySeconds: '5' } })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'nor change it');
  const policy = JSON.parse((await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: ordersA, AttributeNames: ['Policy'] }))).Attributes!.Policy!) as { Statement: Array<{ Sid: string; Principal: { AWS: string[] }; Action: string[] }> };
  t.same(policy.Statement.map((s) => [s.Sid, s.Principal.AWS, s.Action]), [['b-sends', [`arn:aws:iam::${B}:root`], ['SQS:SendMessage']]], 'the grant is a labelled statement of the Policy attribute');
  t.equal((await sqsError(sqsA.send(new AddPermissionCommand({ QueueUrl: ordersA, Label: 'b-sends', AWSAccountIds: [B], Actions: ['ReceiveMessage'] })))).code, 'InvalidParameterValue', 'a label used twice is refused');
  t.equal((await sqsError(sqsA.send(new AddPermissionCommand({ QueueUrl: ordersA, Label: 'b-admin', AWSAccountIds: [B], Actions: ['DeleteQueue'] })))).code, 'InvalidParameterValue', 'owner-only actions cannot be granted');
  t.equal((await sqsError(sqsB.send(new AddPermissionCommand({ QueueUrl: ordersA, Label: 'self', AWSAccountIds: [B], Actions: ['ReceiveMessage'] })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'only the owner edits permissions');

  await sqsA.send(new RemovePermissionCommand({ QueueUrl: ordersA, Label: 'b-sends' }));
  t.equal((await sqsError(sqsB.send(new SendMessageCommand({ QueueUrl: ordersA, MessageBody: 'x' })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'RemovePermission takes the grant back');
  t.equal((await sqsError(sqsA.send(new RemovePermissionCommand({ QueueUrl: ordersA, Label: 'b-sends' })))).code, 'InvalidParameterValue', 'an unknown label is refused');

  const arnA = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: ordersA, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await sqsA.send(new SetQueueAttributesCommand({
    QueueUrl: ordersA,
    Attributes: {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'all', Effect: 'Allow', Principal: { AWS: [B] }, Action: 'sqs:*', Resource: arnA },
          { Sid: 'no-purge', Effect: 'Deny', Principal: '*', Action: 'sqs:PurgeQueue', Resource: arnA },
        ],
      }),
    },
  }));
  t.same((await sqsB.send(new ReceiveMessageCommand({ QueueUrl: ordersA }))).Messages ?? [], [], 'a Policy attribute with sqs:* lets B receive');
  t.equal((await sqsError(sqsB.send(new PurgeQueueCommand({ QueueUrl: ordersA })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'an explicit Deny wins over the Allow');
  t.equal((await sqsError(sqsA.send(new PurgeQueueCommand({ QueueUrl: ordersA })))).code, 'AWS.SimpleQueueService.NonExistentQueue', 'even for the owner');
  const badPolicy = await sqsError(sqsA.send(new SetQueueAttributesCommand({ QueueUrl: ordersA, Attributes: { Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }] }) } })));
  t.equal(badPolicy.code, 'InvalidAttributeValue', 'a policy with a condition this server cannot evaluate is refused');
});

t.test('concurrent AddPermission and RemovePermission on one queue all take effect', async (t) => {
  const { QueueUrl } = await sqsA.send(new CreateQueueCommand({ QueueName: 'many-grants' }));
  const labels = Array.from({ length: 8 }, (_, i) => `grant-${i}`);
  await Promise.all(labels.map((Label) => sqsA.send(new AddPermissionCommand({ QueueUrl, Label, AWSAccountIds: [B], Actions: ['SendMessage'] }))));
  const sids = async (): Promise<string[]> => {
    const text = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }))).Attributes?.Policy;
    return text ? (JSON.parse(text) as { Statement: Array<{ Sid: string }> }).Statement.map((s) => s.Sid).sort() : [];
  };
  t.same(await sids(), labels, 'eight grants sent at once: all eight statements are in the Policy');
  await Promise.all(labels.slice(0, 4).map((Label) => sqsA.send(new RemovePermissionCommand({ QueueUrl, Label }))));
  t.same(await sids(), labels.slice(4), 'four removals at once: exactly those four are gone');
  const twice = await Promise.allSettled([0, 1].map(() => sqsA.send(new AddPermissionCommand({ QueueUrl, Label: 'same', AWSAccountIds: [B], Actions: ['ReceiveMessage'] }))));
  t.same(twice.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'one label granted twice at once: one wins, the other is told it exists');
});

t.test('dead-letter targets and move tasks need access to both queues', async (t) => {
  const { QueueUrl: dlqA } = await sqsA.send(new CreateQueueCommand({ QueueName: 'a-dlq' }));
  const dlqArn = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: dlqA, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const redrive = (arn: string): Record<string, string> => ({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 }) });

  const forbidden = await sqsError(sqsB.send(new CreateQueueCommand({ QueueName: 'b-source', Attributes: redrive(dlqArn) })));
  const missing = await sqsError(sqsB.send(new CreateQueueCommand({ QueueName: 'b-source', Attributes: redrive(`arn:aws:sqs:us-east-1:${A}:no-such-dlq`) })));
  t.same([forbidden.code, forbidden.message], [missing.code, missing.message], 'a RedrivePolicy naming another account’s DLQ is refused as a missing one');
  t.equal(forbidden.code, 'InvalidAttributeValue', 'InvalidAttributeValue');
  t.notOk(await queueExists('b-source', OTHER_TEST_CREDENTIALS), 'and the queue was not created');
  const { QueueUrl: bSource } = await sqsB.send(new CreateQueueCommand({ QueueName: 'b-source' }));
  t.equal((await sqsError(sqsB.send(new SetQueueAttributesCommand({ QueueUrl: bSource, Attributes: redrive(dlqArn) })))).code, 'InvalidAttributeValue', 'SetQueueAttributes is refused the same way');
  await sqsA.send(new AddPermissionCommand({ QueueUrl: dlqA, Label: 'b-dead-letters', AWSAccountIds: [B], Actions: ['SendMessage'] }));
  await sqsB.send(new SetQueueAttributesCommand({ QueueUrl: bSource, Attributes: redrive(dlqArn) }));
  t.pass('once A lets B send to it, B may use it as a dead-letter queue');

  const { QueueUrl: aSource } = await sqsA.send(new CreateQueueCommand({ QueueName: 'a-src', Attributes: redrive(dlqArn) }));
  t.ok(aSource, 'A’s own source queue');
  const { QueueUrl: bDest } = await sqsB.send(new CreateQueueCommand({ QueueName: 'b-dest' }));
  const bDestArn = (await sqsB.send(new GetQueueAttributesCommand({ QueueUrl: bDest, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;

  const notMine = await sqsError(sqsB.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn })));
  const nowhere = await sqsError(sqsB.send(new StartMessageMoveTaskCommand({ SourceArn: `arn:aws:sqs:us-east-1:${A}:no-such-dlq` })));
  t.same([notMine.name, notMine.status, notMine.message], [nowhere.name, nowhere.status, nowhere.message], 'a move task from another account’s DLQ: the answer for a missing source');
  t.equal((await sqsError(sqsB.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn })))).status, 404, 'nor can B list its tasks');
  const noDest = await sqsError(sqsA.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: bDestArn })));
  t.equal(noDest.status, 404, 'A cannot move messages into B’s queue without B’s grant');
  t.match(noDest.message, /DestinationArn/, 'the destination is "missing"');
  t.same((await sqsA.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results ?? [], [], 'no task was recorded');
  await sqsB.send(new AddPermissionCommand({ QueueUrl: bDest, Label: 'a-moves', AWSAccountIds: [A], Actions: ['SendMessage'] }));
  const { TaskHandle } = await sqsA.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: bDestArn }));
  t.ok(TaskHandle, 'with B’s grant the task starts');
});

t.test('a dead-letter queue’s RedriveAllowPolicy decides which sources may name it', async (t) => {
  const { QueueUrl: dlq } = await sqsA.send(new CreateQueueCommand({ QueueName: 'guarded-dlq' }));
  const dlqArn = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const arnOf = (name: string): string => dlqArn.replace(/guarded-dlq$/, name);
  const redrive = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) };
  await sqsA.send(new SetQueueAttributesCommand({ QueueUrl: dlq, Attributes: { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arnOf('listed-src')] }) } }));
  await sqsA.send(new CreateQueueCommand({ QueueName: 'listed-src', Attributes: redrive }));
  t.pass('byQueue: a listed source may name it');
  const refused = await sqsError(sqsA.send(new CreateQueueCommand({ QueueName: 'unlisted-src', Attributes: redrive })));
  t.equal(refused.code, 'InvalidAttributeValue', 'byQueue: an unlisted one is refused');
  t.match(refused.message, /RedrivePolicy.*does not allow this queue as a source/, 'saying why');
  t.notOk(await queueExists('unlisted-src'), 'and is not created');

  const { QueueUrl: later } = await sqsA.send(new CreateQueueCommand({ QueueName: 'later-src' }));
  t.equal((await sqsError(sqsA.send(new SetQueueAttributesCommand({ QueueUrl: later, Attributes: redrive })))).code, 'InvalidAttributeValue', 'SetQueueAttributes is refused the same way');
  await sqsA.send(new SetQueueAttributesCommand({ QueueUrl: dlq, Attributes: { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'allowAll' }) } }));
  await sqsA.send(new SetQueueAttributesCommand({ QueueUrl: later, Attributes: redrive }));
  t.pass('allowAll: any source may');
  await sqsA.send(new SetQueueAttributesCommand({ QueueUrl: dlq, Attributes: { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'denyAll' }) } }));
  t.equal((await sqsError(sqsA.send(new CreateQueueCommand({ QueueName: 'denied-src', Attributes: redrive })))).code, 'InvalidAttributeValue', 'denyAll: none may');
  const bad = await sqsError(sqsA.send(new SetQueueAttributesCommand({ QueueUrl: dlq, Attributes: { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue' }) } })));
  t.match([bad.code, bad.message], ['InvalidAttributeValue', /must also specify one or more sourceQueueArns/], 'a byQueue policy without sources is refused when set');
});

t.test('a move task back to the sources fails at a source its caller may not send to, and moves once it may', async (t) => {
  const { QueueUrl: dlq } = await sqsA.send(new CreateQueueCommand({ QueueName: 'mv-dlq' }));
  const dlqArn = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await sqsA.send(new AddPermissionCommand({ QueueUrl: dlq, Label: 'b-dead-letters', AWSAccountIds: [B], Actions: ['SendMessage'] }));
  const { QueueUrl: bSource } = await sqsB.send(new CreateQueueCommand({ QueueName: 'mv-b-src', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) } }));
  await sqsB.send(new SendMessageCommand({ QueueUrl: bSource, MessageBody: 'dead-lettered from B' }));
  t.equal((await sqsB.send(new ReceiveMessageCommand({ QueueUrl: bSource, VisibilityTimeout: 0 }))).Messages?.length, 1, 'B receives it once');
  t.same((await sqsB.send(new ReceiveMessageCommand({ QueueUrl: bSource }))).Messages ?? [], [], 'past maxReceiveCount it leaves B’s queue');
  t.equal(await visibleCount(dlq!), '1', 'for A’s dead-letter queue');

  const finished = async (): Promise<{ Status?: string; FailureReason?: string }> => {
    for (let i = 0; i < 100; i++) {
      const [task] = (await sqsA.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results ?? [];
      if (task && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') return task;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the move task did not finish within 10 s');
  };
  await sqsA.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  const failed = await finished();
  t.same([failed.Status, failed.FailureReason], ['FAILED', 'AWS.SimpleQueueService.NonExistentQueue'], 'A may not send to B’s queue: the task fails, as for a missing source');
  t.equal(await visibleCount(dlq!), '1', 'and the message stays in the dead-letter queue, visible');
  t.equal(await visibleCount(bSource!, sqsB), '0', 'nothing reached B’s queue');

  await sqsB.send(new AddPermissionCommand({ QueueUrl: bSource, Label: 'a-redrives', AWSAccountIds: [A], Actions: ['SendMessage'] }));
  await sqsA.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  t.equal((await finished()).Status, 'COMPLETED', 'with B’s grant the next task completes');
  t.equal((await sqsB.send(new ReceiveMessageCommand({ QueueUrl: bSource }))).Messages?.[0]?.Body, 'dead-lettered from B', 'and the message is back in B’s queue');
});

t.test('ListDeadLetterSourceQueues pages over the caller’s own sources only', async (t) => {
  const { QueueUrl: dlq } = await sqsA.send(new CreateQueueCommand({ QueueName: 'page-dlq' }));
  const dlqArn = (await sqsA.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await sqsA.send(new AddPermissionCommand({ QueueUrl: dlq, Label: 'b-dead-letters', AWSAccountIds: [B], Actions: ['SendMessage'] }));
  const redrive = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) };
  for (const name of ['page-b1', 'page-b2', 'page-b3']) await sqsB.send(new CreateQueueCommand({ QueueName: name, Attributes: redrive }));
  const own: string[] = [];
  for (const name of ['page-a1', 'page-a2']) own.push((await sqsA.send(new CreateQueueCommand({ QueueName: name, Attributes: redrive }))).QueueUrl!);

  const pages: Array<string[] | undefined> = [];
  let token: string | undefined;
  for (let i = 0; i < 6; i++) {
    const page = await sqsA.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 1, ...(token ? { NextToken: token } : {}) }));
    pages.push(page.queueUrls);
    token = page.NextToken;
    if (!token) break;
  }
  t.same(pages, [[own[0]], [own[1]]], 'one of A’s sources per page, and no page left over for B’s');
  const whole = await sqsA.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 2 }));
  t.same([whole.queueUrls, whole.NextToken], [own, undefined], 'a page as large as A’s sources holds them all, with no NextToken');
});

t.test('a path that is no queue URL is answered in SQS’s shape, after authentication', async (t) => {
  const url = `${endpoint}/no/such/path?Action=ListQueues`;
  const signed = await signedHeaders(url, {}, '', { method: 'GET' });
  const res = await request(url, { headers: signed });
  const text = await res.body.text();
  t.equal(res.statusCode, 404, 'a 404');
  t.match(String(res.headers['content-type']), /xml/, 'in XML, as the query protocol answers');
  t.match(text, /^<\?xml[^>]*>\s*<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>InvalidAddress<\/Code><Message>The address \/no\/such\/path is not valid for this endpoint.<\/Message>/, 'an ErrorResponse with InvalidAddress');
  t.match(text, new RegExp(`<RequestId>${String(res.headers['x-amzn-requestid'])}</RequestId>`), 'and the request id');
  const json = await request(`${endpoint}/no/such/path`, { method: 'PUT', headers: await signedHeaders(`${endpoint}/no/such/path`, baseHeaders('ListQueues'), '{}', { method: 'PUT' }), body: '{}' });
  t.same([json.statusCode, json.headers['x-amzn-query-error'], ((await json.body.json()) as { __type: string }).__type], [404, 'InvalidAddress;Sender', 'com.amazonaws.sqs#InvalidAddress'], 'a JSON-protocol request gets the JSON shape');
  const unsigned = await request(url);
  t.same([unsigned.statusCode, /<Code>MissingAuthenticationToken<\/Code>/.test(await unsigned.body.text())], [403, true], 'an unsigned one is refused by authentication first');
});

t.test('the native API keeps accounts apart too', async (t) => {
  const a = new NativeClient({ nodes: [endpoint], deadlineMs: 5_000, credentials: TEST_CREDENTIALS });
  const b = new NativeClient({ nodes: [endpoint], deadlineMs: 5_000, credentials: OTHER_TEST_CREDENTIALS });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await b.call('CreateQueue', { queue: 'native-b' });
  await b.call('SendMessageBatch', { queue: 'native-b', entries: [{ id: '1', body: 'b' }] });
  t.equal((await b.call('GetQueue', { queue: 'native-b' })).counts.visible, 1, 'B uses its queue by name');
  t.equal((await rejection(a.call('GetQueue', { queue: 'native-b' }))).code, 'QueueDoesNotExist', 'A’s "native-b" is another (missing) queue');
  t.equal((await rejection(a.call('ReceiveMessage', { queue: `${B}:native-b` }))).code, 'QueueDoesNotExist', 'and naming B’s queue by id is refused as missing');
  t.notOk((await a.call('ListQueues', {})).queues.includes('native-b'), 'A does not list it');
});

t.test('HTTPS with a configured certificate', async (t) => {
  const dir = makeTempDir('conveyor-tls-');
  t.teardown(() => removeTempDir(dir));
  const { certFile, keyFile, ca } = selfSignedCertificate(dir);
  const frontend = await startFrontend(stack.metadata.url, [], { tls: { certFile, keyFile, ca } });
  t.teardown(() => frontend.stop());
  t.match(frontend.url, /^https:\/\//, 'the frontend serves https');

  const agent = new HttpsAgent({ ca });
  t.teardown(() => agent.destroy());
  const sqs = new SQSClient({ endpoint: frontend.url, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent: agent }) });
  t.teardown(() => sqs.destroy());
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'over-tls' }));
  t.equal(QueueUrl, `${frontend.url}/${A}/over-tls`, 'queue URLs are https URLs');
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'sealed' }));
  t.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.[0]?.Body, 'sealed', '@aws-sdk/client-sqs trusting the CA sends and receives');

  // The SDK leaves bodies out of its signatures over TLS (UNSIGNED-PAYLOAD) unless asked to sign them.
  for (const signPayload of [undefined, true]) {
    const conveyor = new Conveyor({ endpoint: frontend.url, credentials: { ...TEST_CREDENTIALS }, tlsCa: ca, signPayload });
    const queue = await conveyor.createQueue(`sdk-over-tls-${signPayload === undefined ? 'default' : 'signed'}`);
    await queue.send('sealed by the SDK');
    const [message] = await queue.receive({ max: 1, waitSeconds: 5 });
    t.equal(message?.body, 'sealed by the SDK', `the SDK sends and receives over TLS (${signPayload === undefined ? 'bodies unsigned, the default' : 'bodies signed'})`);
    await conveyor.close();
  }
  const unsignedOverHttp = await request(`${endpoint}/native/ListQueues`, {
    method: 'POST',
    headers: await signedHeaders(`${endpoint}/native/ListQueues`, { 'content-type': 'application/x-msgpack', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, encodeNative({})),
    body: encodeNative({}),
  });
  const refusal = decodeNative(Buffer.from(await unsignedOverHttp.body.arrayBuffer())) as { error: { code: string; message: string } };
  t.equal(unsignedOverHttp.statusCode, 403, 'an unsigned body over plain HTTP is refused');
  t.match(refusal.error, { code: 'IncompleteSignature', message: /only over HTTPS/ }, 'saying why');

  const untrusting = new SQSClient({ endpoint: frontend.url, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1 });
  t.teardown(() => untrusting.destroy());
  await t.rejects(untrusting.send(new ListQueuesCommand({})), /self.signed|certificate/i, 'a client that does not trust the certificate refuses it');
});

t.test('behind a proxy that terminates TLS, --trust-proxy lets its X-Forwarded-Proto count', async (t) => {
  const unsignedList = async (url: string, forwarded: Record<string, string>): Promise<number> => {
    const body = encodeNative({});
    const headers = await signedHeaders(`${url}/native/ListQueues`, { 'content-type': 'application/x-msgpack', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...forwarded }, body);
    const res = await request(`${url}/native/ListQueues`, { method: 'POST', headers, body });
    await res.body.dump();
    return res.statusCode;
  };
  const behindProxy = await startFrontend(stack.metadata.url, ['--trust-proxy', '127.0.0.1,::1']);
  t.teardown(() => behindProxy.stop());
  t.equal(await unsignedList(behindProxy.url, { 'x-forwarded-proto': 'https' }), 200, 'an unsigned body the trusted proxy got over HTTPS is accepted');
  t.equal(await unsignedList(behindProxy.url, {}), 403, 'one it got over HTTP is not');
  t.equal(await unsignedList(endpoint, { 'x-forwarded-proto': 'https' }), 403, 'a frontend that trusts no proxy ignores the header');
});

t.test('a frontend with neither keys nor --no-auth refuses to start, in one sentence', async (t) => {
  const root = new URL('../..', import.meta.url);
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'frontend/src/main.ts', '--listen', '127.0.0.1:0', '--metadata', stack.metadata.url, ...args], { cwd: root, timeout: 30_000 }, (error, _stdout, stderr) => {
        resolve({ code: error ? (child.exitCode ?? -1) : 0, stderr });
      });
    });
  const refused = await run([]);
  t.equal(refused.code, 2, 'exit status 2');
  t.match(refused.stderr, /^conveyor frontend: authentication needs access keys: pass --auth-keys <file> .*or --no-auth to turn it off explicitly\n$/, 'and says what to do');
  const badFile = await run(['--auth-keys', '/nonexistent/keys.json']);
  t.equal(badFile.code, 2, 'an unreadable keys file is refused too');
  t.match(badFile.stderr, /cannot read the keys file \/nonexistent\/keys.json/, 'naming the file');
});
