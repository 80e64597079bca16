/**
 * SQS's query protocol end to end against a real local Conveyor: Debian's AWS CLI v2.9 (whose
 * botocore model for SQS says `protocol: query`) through create, send, receive, delete and queue
 * attributes; then hand-made form requests (GET and POST, on / and on the queue URL, batches,
 * message attributes, every error path, XML-hostile input); then /metrics after that traffic.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { request } from 'undici';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { md5OfMessageAttributes } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/credentials.ts';
import { makeTempDir, postOversized as postOversizedRaw, removeTempDir, signedHeaders, startStack } from '../support/index.ts';

const AWS_CLI = '/usr/bin/aws';
const BOTOCORE_SQS_MODEL = '/usr/lib/python3/dist-packages/awscli/botocore/data/sqs/2012-11-05/service-2.json';
const ACCOUNT = '000000000000';
const md5 = (text: string | Buffer): string => createHash('md5').update(text).digest('hex');
const run = promisify(execFile);

type Xml = Record<string, unknown>;
const FLATTENED = ['Message', 'Attribute', 'MessageAttribute', 'Tag', 'SendMessageBatchResultEntry', 'DeleteMessageBatchResultEntry', 'ChangeMessageVisibilityBatchResultEntry', 'BatchResultErrorEntry'];
const parser = new XMLParser({ htmlEntities: true, parseTagValue: false, trimValues: false, isArray: (name, jpath) => FLATTENED.includes(name) || String(jpath).endsWith('ListQueuesResult.QueueUrl') });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  xml: Xml;
}

t.test('SQS query protocol', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const endpoint = stack.endpoint;

  const answer = async (status: number, headers: Answer['headers'], text: string): Promise<Answer> => {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new Error(`not well-formed XML (${JSON.stringify(valid)}): ${text.slice(0, 300)}`);
    return { status, headers, text, xml: parser.parse(text) as Xml };
  };
  const post = async (path: string, body: string | Buffer, contentType = 'application/x-www-form-urlencoded'): Promise<Answer> => {
    const url = `${endpoint}${path}`;
    const res = await request(url, { method: 'POST', headers: await signedHeaders(url, { 'content-type': contentType }, body), body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    return answer(res.statusCode, res.headers, await res.body.text());
  };
  const get = async (path: string): Promise<Answer> => {
    const url = `${endpoint}${path}`;
    const res = await request(url, { headers: await signedHeaders(url, {}, '', { method: 'GET' }), headersTimeout: 30_000, bodyTimeout: 30_000 });
    return answer(res.statusCode, res.headers, await res.body.text());
  };
  const postOversized = async (path: string, declaredBytes: number): Promise<Answer> => {
    const raw = await postOversizedRaw(endpoint, path, { 'Content-Type': 'application/x-www-form-urlencoded' }, declaredBytes, 'Action=SendMessage&MessageBody=aaaa');
    return answer(raw.status, raw.headers, raw.body);
  };
  const form = (params: Record<string, string>): string => new URLSearchParams({ Version: '2012-11-05', ...params }).toString();
  const result = (a: Answer, action: string): Xml => {
    const response = a.xml[`${action}Response`] as Xml | undefined;
    if (a.status !== 200 || !response) throw new Error(`${action} failed: ${a.status} ${a.text.slice(0, 300)}`);
    const requestId = (response.ResponseMetadata as Xml).RequestId;
    if (requestId !== a.headers['x-amzn-requestid']) throw new Error(`RequestId ${String(requestId)} is not the x-amzn-RequestId header`);
    return (response[`${action}Result`] ?? {}) as Xml;
  };
  const failure = (a: Answer): { type: string; code: string; message: string } => {
    const error = ((a.xml.ErrorResponse as Xml | undefined)?.Error ?? {}) as Xml;
    if ((a.xml.ErrorResponse as Xml | undefined)?.RequestId !== a.headers['x-amzn-requestid']) throw new Error(`error without the request id: ${a.text}`);
    return { type: String(error.Type), code: String(error.Code), message: String(error.Message) };
  };

  await t.test('Debian’s AWS CLI (query protocol) through create, send, receive, delete and attributes', async (t) => {
    t.ok(existsSync(AWS_CLI), `${AWS_CLI} is installed (apt-get install -y awscli; .ci/run installs it)`);
    const model = JSON.parse(readFileSync(BOTOCORE_SQS_MODEL, 'utf8')) as { metadata: { protocol: string } };
    t.equal(model.metadata.protocol, 'query', 'its botocore model for SQS speaks the query protocol');
    const home = makeTempDir('conveyor-awscli-');
    t.teardown(() => removeTempDir(home));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: TEST_REGION,
      AWS_CONFIG_FILE: `${home}/config`,
      AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
      AWS_PAGER: '',
      AWS_MAX_ATTEMPTS: '1',
    };
    const aws = async (...args: string[]): Promise<Xml> => {
      const { stdout } = await run(AWS_CLI, ['--endpoint-url', endpoint, '--output', 'json', 'sqs', ...args], { env, timeout: 60_000 });
      return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Xml);
    };

    const { QueueUrl: url } = await aws('create-queue', '--queue-name', 'cli-queue', '--attributes', 'VisibilityTimeout=40');
    t.equal(url, `${endpoint}/${ACCOUNT}/cli-queue`, 'create-queue answers the queue URL');
    const body = 'hello from the CLI: <tag> & "quotes" \'apostrophes\'\r\nsecond line ✓';
    const attributes = { colour: { DataType: 'String', StringValue: 'blue & <green>' }, size: { DataType: 'Number', StringValue: '42' } };
    const sent = await aws('send-message', '--queue-url', String(url), '--message-body', body, '--message-attributes', JSON.stringify(attributes));
    t.equal(sent.MD5OfMessageBody, md5(body), 'send-message: MD5OfMessageBody is the body’s');
    t.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes(attributes), 'send-message: MD5OfMessageAttributes is SQS’s digest of the attributes');
    t.match(sent.MessageId, /^[0-9a-f-]{36}$/, 'send-message: a message id');

    const received = await aws('receive-message', '--queue-url', String(url), '--attribute-names', 'All', '--message-attribute-names', 'All', '--max-number-of-messages', '10', '--wait-time-seconds', '5');
    const messages = received.Messages as Xml[];
    t.equal(messages.length, 1, 'receive-message: the message');
    const m = messages[0]!;
    t.equal(m.Body, body, 'the body comes back byte for byte (CR, quotes, markup, UTF-8)');
    t.equal(m.MD5OfBody, md5(body), 'MD5OfBody');
    t.equal(m.MessageId, sent.MessageId, 'the same message id');
    t.same(m.MessageAttributes, attributes, 'the message attributes');
    t.equal(m.MD5OfMessageAttributes, md5OfMessageAttributes(attributes), 'MD5OfMessageAttributes');
    t.equal((m.Attributes as Xml).ApproximateReceiveCount, '1', 'system attributes: ApproximateReceiveCount');
    t.equal((m.Attributes as Xml).SenderId, ACCOUNT, 'system attributes: SenderId');

    t.same(await aws('delete-message', '--queue-url', String(url), '--receipt-handle', String(m.ReceiptHandle)), {}, 'delete-message succeeds');
    const attrs = (await aws('get-queue-attributes', '--queue-url', String(url), '--attribute-names', 'All')).Attributes as Xml;
    t.equal(attrs.VisibilityTimeout, '40', 'get-queue-attributes: the attribute set at creation');
    t.equal(attrs.ApproximateNumberOfMessages, '0', 'get-queue-attributes: the deleted message is gone');
    t.equal(attrs.ApproximateNumberOfMessagesNotVisible, '0', 'and not in flight either');
    t.same(await aws('set-queue-attributes', '--queue-url', String(url), '--attributes', 'DelaySeconds=7,VisibilityTimeout=50'), {}, 'set-queue-attributes succeeds');
    const changed = (await aws('get-queue-attributes', '--queue-url', String(url), '--attribute-names', 'DelaySeconds', 'VisibilityTimeout')).Attributes as Xml;
    t.same(changed, { DelaySeconds: '7', VisibilityTimeout: '50' }, 'get-queue-attributes: exactly the attributes asked for, as set');

    const batch = await aws('send-message-batch', '--queue-url', String(url), '--entries', JSON.stringify([{ Id: 'a', MessageBody: 'first', DelaySeconds: 0 }, { Id: 'b', MessageBody: 'second', DelaySeconds: 0 }]));
    t.same((batch.Successful as Xml[]).map((s) => [s.Id, s.MD5OfMessageBody]), [['a', md5('first')], ['b', md5('second')]], 'send-message-batch: both entries, with their MD5s');
    const missing = await run(AWS_CLI, ['--endpoint-url', endpoint, 'sqs', 'get-queue-attributes', '--queue-url', `${endpoint}/${ACCOUNT}/no-such-queue`, '--attribute-names', 'All'], { env, timeout: 60_000 }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    t.ok(missing && missing.code !== 0, 'a missing queue fails the command');
    t.match(missing?.stderr, /AWS\.SimpleQueueService\.NonExistentQueue/, 'with SQS’s legacy error code');
  });

  await t.test('hand-made requests: GET and POST, on / and on the queue URL', async (t) => {
    const created = result(await post('/', form({ Action: 'CreateQueue', QueueName: 'forms', 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '45', 'Tag.1.Key': 'team', 'Tag.1.Value': 'a<b>&"c"' })), 'CreateQueue');
    const url = `${endpoint}/${ACCOUNT}/forms`;
    t.equal(created.QueueUrl, url, 'CreateQueue by POST on /');
    const attrs = result(await get(`/${ACCOUNT}/forms?Action=GetQueueAttributes&Version=2012-11-05&AttributeName.1=VisibilityTimeout&AttributeName.2=QueueArn`), 'GetQueueAttributes');
    const byName = Object.fromEntries((attrs.Attribute as Xml[]).map((a) => [a.Name, a.Value]));
    t.same(Object.keys(byName).sort(), ['QueueArn', 'VisibilityTimeout'], 'GetQueueAttributes by GET on the queue URL (no QueueUrl parameter): the attributes asked for');
    t.equal(byName.VisibilityTimeout, '45', 'as set at creation');
    t.match(byName.QueueArn, new RegExp(`^arn:aws:sqs:[a-z0-9-]+:${ACCOUNT}:forms$`), 'and the queue’s ARN');
    const tags = result(await get(`/?${form({ Action: 'ListQueueTags', QueueUrl: url })}`), 'ListQueueTags');
    t.same(tags.Tag, [{ Key: 'team', Value: 'a<b>&"c"' }], 'tags given at creation, escaped and read back');
    result(await post(`/${ACCOUNT}/forms`, form({ Action: 'TagQueue', 'Tag.1.Key': 'env', 'Tag.1.Value': 'test' })), 'TagQueue');
    result(await post('/', form({ Action: 'UntagQueue', QueueUrl: url, 'TagKey.1': 'team' })), 'UntagQueue');
    t.same(result(await get(`/${ACCOUNT}/forms?Action=ListQueueTags`), 'ListQueueTags').Tag, [{ Key: 'env', Value: 'test' }], 'TagQueue and UntagQueue');
    const listed = result(await get(`/?Action=ListQueues&QueueNamePrefix=for`), 'ListQueues');
    t.same(listed.QueueUrl, [url], 'ListQueues by GET on /');
    t.equal(result(await post('/', form({ Action: 'GetQueueUrl', QueueName: 'forms' })), 'GetQueueUrl').QueueUrl, url, 'GetQueueUrl');

    // Every character SQS allows in a body, including the ones XML must escape and CR.
    const hostile = `<?xml?><![CDATA[x]]>&amp; "' \r\n\t \u00e9\u4e2d\u{1F600} </SendMessageResult>`;
    const binary = Buffer.from([0, 1, 2, 254, 255, 60, 38]);
    const attributes = { 'str.attr': { DataType: 'String', StringValue: '<&>"\'\r' }, bin: { DataType: 'Binary', BinaryValue: binary } };
    const sent = result(await post(`/${ACCOUNT}/forms`, form({
      Action: 'SendMessage', MessageBody: hostile,
      'MessageAttribute.1.Name': 'str.attr', 'MessageAttribute.1.Value.DataType': 'String', 'MessageAttribute.1.Value.StringValue': '<&>"\'\r',
      'MessageAttribute.2.Name': 'bin', 'MessageAttribute.2.Value.DataType': 'Binary', 'MessageAttribute.2.Value.BinaryValue': binary.toString('base64'),
    })), 'SendMessage');
    t.equal(sent.MD5OfMessageBody, md5(hostile), 'SendMessage on the queue URL: MD5 of the hostile body');
    t.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes(attributes), 'MD5 of string and binary attributes');

    const batch = result(await post('/', form({
      Action: 'SendMessageBatch', QueueUrl: url,
      'SendMessageBatchRequestEntry.1.Id': 'one', 'SendMessageBatchRequestEntry.1.MessageBody': 'first',
      'SendMessageBatchRequestEntry.2.Id': 'two', 'SendMessageBatchRequestEntry.2.MessageBody': 'second',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Name': 'n', 'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType': 'Number', 'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue': '7',
      'SendMessageBatchRequestEntry.3.Id': 'bad', 'SendMessageBatchRequestEntry.3.MessageBody': 'late', 'SendMessageBatchRequestEntry.3.DelaySeconds': '901',
    })), 'SendMessageBatch');
    const ok = batch.SendMessageBatchResultEntry as Xml[];
    t.same(ok.map((e) => [e.Id, e.MD5OfMessageBody]), [['one', md5('first')], ['two', md5('second')]], 'SendMessageBatch: the good entries');
    t.equal(ok[1]!.MD5OfMessageAttributes, md5OfMessageAttributes({ n: { DataType: 'Number', StringValue: '7' } }), 'an entry’s attributes');
    const bad = batch.BatchResultErrorEntry as Xml[];
    t.same(bad.map((e) => [e.Id, e.SenderFault, e.Code]), [['bad', 'true', 'InvalidParameterValue']], 'and the bad one as a BatchResultErrorEntry');

    const got = result(await get(`/${ACCOUNT}/forms?Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=1&VisibilityTimeout=60`), 'ReceiveMessage');
    const messages = (got.Message as Xml[]) ?? [];
    for (let i = 0; i < 5 && messages.length < 3; i++) {
      messages.push(...(((result(await get(`/${ACCOUNT}/forms?Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=1&VisibilityTimeout=60`), 'ReceiveMessage').Message as Xml[]) ?? [])));
    }
    t.equal(messages.length, 3, 'ReceiveMessage by GET: the three messages');
    const first = messages.find((m) => m.Body === hostile);
    t.ok(first, 'the hostile body comes back exactly (CR included)');
    t.equal(first?.MD5OfBody, md5(hostile), 'with its MD5');
    const attrByName = Object.fromEntries(((first?.MessageAttribute as Xml[]) ?? []).map((a) => [a.Name, a.Value as Xml]));
    t.same(attrByName['str.attr'], { StringValue: '<&>"\'\r', DataType: 'String' }, 'a string attribute with markup and CR');
    t.equal(attrByName.bin?.BinaryValue, binary.toString('base64'), 'a binary attribute, base64 in XML');
    t.equal(first?.MD5OfMessageAttributes, md5OfMessageAttributes(attributes), 'MD5OfMessageAttributes of what is returned');
    t.ok(((first?.Attribute as Xml[]) ?? []).some((a) => a.Name === 'ApproximateReceiveCount' && a.Value === '1'), 'system attributes as <Attribute> entries');

    const extended = result(await post('/', form({
      Action: 'ChangeMessageVisibilityBatch', QueueUrl: url,
      'ChangeMessageVisibilityBatchRequestEntry.1.Id': 'keep', 'ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle': String(messages[0]!.ReceiptHandle), 'ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout': '120',
      'ChangeMessageVisibilityBatchRequestEntry.2.Id': 'forged', 'ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle': 'x', 'ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout': '120',
    })), 'ChangeMessageVisibilityBatch');
    t.same((extended.ChangeMessageVisibilityBatchResultEntry as Xml[]).map((e) => e.Id), ['keep'], 'ChangeMessageVisibilityBatch: the real handle');
    t.same((extended.BatchResultErrorEntry as Xml[]).map((e) => [e.Id, e.Code]), [['forged', 'ReceiptHandleIsInvalid']], 'and the forged one as a failed entry');
    result(await get(`/${ACCOUNT}/forms?Action=ChangeMessageVisibility&ReceiptHandle=${encodeURIComponent(String(messages[1]!.ReceiptHandle))}&VisibilityTimeout=120`), 'ChangeMessageVisibility');

    const entries: Record<string, string> = { Action: 'DeleteMessageBatch' };
    messages.forEach((m, i) => {
      entries[`DeleteMessageBatchRequestEntry.${i + 1}.Id`] = `m${i}`;
      entries[`DeleteMessageBatchRequestEntry.${i + 1}.ReceiptHandle`] = String(m.ReceiptHandle);
    });
    entries['DeleteMessageBatchRequestEntry.4.Id'] = 'forged';
    entries['DeleteMessageBatchRequestEntry.4.ReceiptHandle'] = 'not a handle';
    const deleted = result(await post(`/${ACCOUNT}/forms`, form(entries)), 'DeleteMessageBatch');
    t.same((deleted.DeleteMessageBatchResultEntry as Xml[]).map((e) => e.Id), ['m0', 'm1', 'm2'], 'DeleteMessageBatch: every real handle');
    t.same((deleted.BatchResultErrorEntry as Xml[]).map((e) => [e.Id, e.Code]), [['forged', 'ReceiptHandleIsInvalid']], 'the forged one fails alone');
    const counts = result(await get(`/${ACCOUNT}/forms?Action=GetQueueAttributes&AttributeName.1=All`), 'GetQueueAttributes');
    t.ok(((counts.Attribute as Xml[]) ?? []).some((a) => a.Name === 'ApproximateNumberOfMessagesNotVisible' && a.Value === '0'), 'nothing left in flight');
    const purged = await post('/', form({ Action: 'PurgeQueue', QueueUrl: url }));
    t.equal(purged.status, 200, 'PurgeQueue');
    t.notOk((purged.xml.PurgeQueueResponse as Xml).PurgeQueueResult, 'actions without output have no result element');
  });

  await t.test('hand-made requests: every error is SQS’s query-protocol error', async (t) => {
    const url = `${endpoint}/${ACCOUNT}/forms`;
    const cases: Array<[string, () => Promise<Answer>, number, string, RegExp]> = [
      ['no Action', () => post('/', 'Version=2012-11-05'), 400, 'MissingParameter', /parameter Action/],
      ['an unknown action', () => get('/?Action=FlyToTheMoon'), 400, 'InvalidAction', /The action FlyToTheMoon is not valid for this endpoint/],
      ['a missing queue', () => post('/', form({ Action: 'SendMessage', QueueUrl: `${endpoint}/${ACCOUNT}/nothing-here`, MessageBody: 'x' })), 400, 'AWS.SimpleQueueService.NonExistentQueue', /does not exist for this wsdl version/],
      ['a broken percent escape', () => post('/', 'Action=ListQueues&QueueNamePrefix=%zz'), 400, 'InvalidParameterValue', /percent-encoded/],
      ['bytes that are not UTF-8', () => post('/', Buffer.concat([Buffer.from('Action=ListQueues&QueueNamePrefix='), Buffer.from([0xff, 0xfe])])), 400, 'InvalidParameterValue', /not UTF-8/],
      ['a parameter given twice', () => post('/', 'Action=ListQueues&Action=ListQueues'), 400, 'InvalidParameterValue', /more than once/],
      ['a member number 0', () => post('/', form({ Action: 'SetQueueAttributes', QueueUrl: url, 'Attribute.0.Name': 'DelaySeconds', 'Attribute.0.Value': '1' })), 400, 'InvalidParameterValue', /Attribute\.0/],
      ['an attribute without a value', () => post('/', form({ Action: 'SetQueueAttributes', QueueUrl: url, 'Attribute.1.Name': 'DelaySeconds' })), 400, 'MissingParameter', /Attribute\.1\.Value/],
      ['an unknown nested parameter', () => post('/', form({ Action: 'ListQueues', 'Foo.1.Bar': 'x' })), 400, 'InvalidParameterValue', /Foo\.1\.Bar/],
      ['another API version', () => post('/', 'Action=ListQueues&Version=2008-01-01'), 400, 'InvalidParameterValue', /Version/],
      ['eleven batch entries', () => post('/', form({ Action: 'SendMessageBatch', QueueUrl: url, ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [[`SendMessageBatchRequestEntry.${i + 1}.Id`, `e${i}`], [`SendMessageBatchRequestEntry.${i + 1}.MessageBody`, 'x']]).flat()) })), 400, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', /Maximum number of entries/],
      ['duplicate batch ids', () => post('/', form({ Action: 'DeleteMessageBatch', QueueUrl: url, 'DeleteMessageBatchRequestEntry.1.Id': 'a', 'DeleteMessageBatchRequestEntry.1.ReceiptHandle': 'x', 'DeleteMessageBatchRequestEntry.2.Id': 'a', 'DeleteMessageBatchRequestEntry.2.ReceiptHandle': 'y' })), 400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', /repeated/],
      ['a forged receipt handle', () => post('/', form({ Action: 'DeleteMessage', QueueUrl: url, ReceiptHandle: '<forged & "handle">' })), 400, 'ReceiptHandleIsInvalid', /<forged & "handle">/],
      ['a bad queue attribute', () => post('/', form({ Action: 'SetQueueAttributes', QueueUrl: url, 'Attribute.1.Name': '__proto__', 'Attribute.1.Value': '1' })), 400, 'InvalidAttributeName', /__proto__/],
      ['an empty body', () => post(`/${ACCOUNT}/forms`, form({ Action: 'SendMessage', MessageBody: '' })), 400, 'MissingParameter', /MessageBody/],
      ['markup and control characters in the action', () => post('/', form({ Action: '<x>&"\u0000\u0007' })), 400, 'InvalidAction', /<x>&"\uFFFD\uFFFD/],
      ['a body beyond any request', () => postOversized(`/${ACCOUNT}/forms`, 5 * 1024 * 1024), 400, 'InvalidParameterValue', /larger than/],
      ['an invalid WaitTimeSeconds', () => get(`/${ACCOUNT}/forms?Action=ReceiveMessage&WaitTimeSeconds=21`), 400, 'InvalidParameterValue', /WaitTimeSeconds/],
    ];
    for (const [what, send, status, code, message] of cases) {
      const a = await send();
      t.equal(a.status, status, `${what}: HTTP ${status}`);
      const e = failure(a);
      t.equal(e.code, code, `${what}: ${code}`);
      t.equal(e.type, 'Sender', `${what}: the sender’s fault`);
      t.match(e.message, message, `${what}: says what was wrong`);
      t.match(String(a.headers['content-type']), /^text\/xml/, `${what}: an XML answer`);
    }
    const health = await request(`${endpoint}/health`);
    t.equal(health.statusCode, 200, 'the frontend is still up');
    await health.body.dump();

    // The refusal's log line carries the id the client was given.
    const refused = await get('/?Action=NoSuchThing');
    const requestId = String(refused.headers['x-amzn-requestid']);
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = readFileSync(stack.frontend.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === requestId);
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(line, `the frontend logged the refusal with requestId ${requestId}`);
    t.match(line, { protocol: 'query', action: 'unknown', status: 400, code: 'InvalidAction' }, 'with its protocol, action, status and code');
  });

  await t.test('/metrics after that traffic', async (t) => {
    const res = await request(`${endpoint}/metrics`);
    t.equal(res.statusCode, 200, '/metrics answers');
    t.match(String(res.headers['content-type']), /^text\/plain/, 'in Prometheus’s text format');
    const text = await res.body.text();
    const value = (pattern: RegExp): number => {
      const line = text.split('\n').find((l) => !l.startsWith('#') && pattern.test(l));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    t.ok(value(/^conveyor_frontend_requests_total\{action="SendMessage",protocol="query",status="200"\}/) >= 2, 'requests by action, protocol and status');
    t.ok(value(/^conveyor_frontend_errors_total\{action="SendMessage",protocol="query",code="QueueDoesNotExist"\}/) >= 1, 'errors by action and code');
    t.ok(value(/^conveyor_frontend_errors_total\{action="unknown",protocol="query",code="InvalidAction"\}/) >= 2, 'actions not served count as unknown (bounded labels)');
    t.ok(value(/^conveyor_frontend_request_duration_seconds_count\{action="ReceiveMessage",protocol="query"\}/) >= 2, 'latency by action');
    t.equal(value(/^conveyor_frontend_queue_messages_total\{queue="000000000000:forms",operation="sent"\}/), 3, 'messages sent to a queue (not calls)');
    t.equal(value(/^conveyor_frontend_queue_messages_total\{queue="000000000000:forms",operation="received"\}/), 3, 'messages received');
    t.equal(value(/^conveyor_frontend_queue_messages_total\{queue="000000000000:forms",operation="deleted"\}/), 3, 'messages deleted');
    t.equal(value(/^conveyor_frontend_queue_messages_total\{queue="000000000000:cli-queue",operation="sent"\}/), 3, 'the CLI’s sends');
    t.ok(value(/^conveyor_frontend_backend_request_duration_seconds_count\{action="SendMessageBatch",outcome="ok"\}/) >= 3, 'backend round trips');
    t.ok(value(/^conveyor_frontend_metadata_request_duration_seconds_count\{method="GET",outcome="ok"\}/) >= 1, 'metadata round trips');
    t.ok(value(/^conveyor_frontend_route_cache_refreshes_total\{kind="queue"\}/) >= 1, 'routing-cache refreshes');
    t.match(text, /conveyor_frontend_auth_failures_total/, 'the auth failure counter is exported');
    t.match(text, /process_resident_memory_bytes/, 'process metrics');
  });
});
