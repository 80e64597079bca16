/**
 * The query protocol's codec, byte by byte: strict form decoding, flattened parameters → the JSON
 * protocol's input, JSON output → SQS's XML, and escaping of everything XML-hostile (a generated
 * property: any string survives escaping and a well-formedness check). Replay with FC_SEED.
 */
import fc from 'fast-check';
import t from 'tap';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConveyorError } from '@conveyor/client-sdk';
import { decodeQueryInput } from '../../frontend/src/query/decode.ts';
import { escapeXml, renderQueryError, renderQueryResponse } from '../../frontend/src/query/encode.ts';
import { MAX_FORM_PARAMETERS, parseForm } from '../../frontend/src/query/form.ts';
import { thrown } from '../support/index.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const parser = new XMLParser({ htmlEntities: true, parseTagValue: false, trimValues: false });

t.test('forms decode strictly', async (t) => {
  t.same([...parseForm('Action=SendMessage&MessageBody=a+b%26c%3D%E2%9C%93&Empty=&Bare')], [['Action', 'SendMessage'], ['MessageBody', 'a b&c=✓'], ['Empty', ''], ['Bare', '']], '+ is a space, escapes are UTF-8');
  t.same([...parseForm(Buffer.from('A=1&&B=2'))], [['A', '1'], ['B', '2']], 'empty pairs are skipped');
  t.match(thrown(() => parseForm('A=%E2%9C')).message, /percent-encoded/, 'a truncated UTF-8 escape');
  t.match(thrown(() => parseForm('A=%zz')).message, /percent-encoded/, 'a broken escape');
  t.match(thrown(() => parseForm(Buffer.from([0x41, 0x3d, 0xc3]))).message, /not UTF-8/, 'raw bytes that are not UTF-8');
  t.match(thrown(() => parseForm('A=1&A=2')).message, /more than once/, 'a repeated parameter');
  t.match(thrown(() => parseForm('=1')).message, /no name/, 'a nameless parameter');
  t.match(thrown(() => parseForm(Array.from({ length: MAX_FORM_PARAMETERS + 1 }, (_, i) => `p${i}=1`).join('&'))).message, /more than/, 'too many parameters');
  t.equal(thrown(() => parseForm('A=%zz')).code, 'InvalidParameterValue');
});

t.test('flattened parameters become the JSON protocol’s input', async (t) => {
  const input = decodeQueryInput('SendMessageBatch', new Map([
    ['Action', 'SendMessageBatch'], ['Version', '2012-11-05'], ['QueueUrl', 'http://h/000000000000/q'],
    ['SendMessageBatchRequestEntry.2.Id', 'b'], ['SendMessageBatchRequestEntry.2.MessageBody', 'two'],
    ['SendMessageBatchRequestEntry.10.Id', 'c'], ['SendMessageBatchRequestEntry.10.MessageBody', 'ten'],
    ['SendMessageBatchRequestEntry.1.Id', 'a'], ['SendMessageBatchRequestEntry.1.MessageBody', 'one'], ['SendMessageBatchRequestEntry.1.DelaySeconds', '3'],
    ['SendMessageBatchRequestEntry.1.MessageAttribute.1.Name', 'k'], ['SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType', 'Binary'], ['SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.BinaryValue', 'AAE='],
    ['SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Name', 'AWSTraceHeader'], ['SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Value.DataType', 'String'], ['SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Value.StringValue', 'Root=1'],
  ]));
  t.same(input, {
    QueueUrl: 'http://h/000000000000/q',
    Entries: [
      { Id: 'a', MessageBody: 'one', DelaySeconds: '3', MessageAttributes: { k: { DataType: 'Binary', BinaryValue: 'AAE=' } }, MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1' } } },
      { Id: 'b', MessageBody: 'two' },
      { Id: 'c', MessageBody: 'ten' },
    ],
  }, 'entries in member-number order (numerically), nested maps, envelope dropped');
  t.same(decodeQueryInput('CreateQueue', new Map([['QueueName', 'q'], ['Attribute.1.Name', 'DelaySeconds'], ['Attribute.1.Value', '5'], ['Tag.1.Key', 'team'], ['Tag.1.Value', '']])), { QueueName: 'q', Attributes: { DelaySeconds: '5' }, tags: { team: '' } }, 'CreateQueue: Attributes and lower-case tags');
  t.same(decodeQueryInput('TagQueue', new Map([['Tags.1.Key', 'a'], ['Tags.1.Value', 'b']])), { Tags: { a: 'b' } }, 'TagQueue: Tags (or Tag)');
  t.same(decodeQueryInput('UntagQueue', new Map([['TagKey.2', 'y'], ['TagKey.1', 'x']])), { TagKeys: ['x', 'y'] }, 'UntagQueue: TagKey.N');
  t.same(decodeQueryInput('ReceiveMessage', new Map([['AttributeName.1', 'All'], ['MessageSystemAttributeName.1', 'SenderId'], ['MessageAttributeName.1', 'a.*'], ['MaxNumberOfMessages', '10']])), { AttributeNames: ['All'], MessageAttributeNames: ['a.*'], MaxNumberOfMessages: '10' }, 'ReceiveMessage: the query protocol honours AttributeName over MessageSystemAttributeName');
  t.same(decodeQueryInput('GetQueueAttributes', new Map([['AttributeName', '']])), { AttributeNames: [] }, 'botocore’s marker of an empty list');
  const own = decodeQueryInput('SendMessage', new Map([['MessageAttribute.1.Name', 'constructor'], ['MessageAttribute.1.Value.DataType', 'String'], ['MessageAttribute.1.Value.StringValue', 'x']]));
  t.ok(Object.hasOwn(own.MessageAttributes as object, 'constructor'), 'names are data: own properties');

  const errors: Array<[string, Array<[string, string]>, string, RegExp]> = [
    ['member number 0', [['AttributeName.0', 'All']], 'InvalidParameterValue', /AttributeName\.0/],
    ['a member number with a leading zero', [['AttributeName.01', 'All']], 'InvalidParameterValue', /AttributeName\.01/],
    ['a member number too large', [['AttributeName.10000', 'All']], 'InvalidParameterValue', /1 to 9999/],
    ['a list member with fields', [['AttributeName.1.X', 'All']], 'InvalidParameterValue', /plain value/],
    ['a map entry without its name', [['Attribute.1.Value', '1']], 'MissingParameter', /Attribute\.1\.Name/],
    ['a map entry without its value', [['Attribute.1.Name', 'DelaySeconds']], 'MissingParameter', /Attribute\.1\.Value/],
    ['a map entry with another field', [['Attribute.1.Name', 'DelaySeconds'], ['Attribute.1.Value', '1'], ['Attribute.1.Extra', 'x']], 'InvalidParameterValue', /Attribute\.1\.Extra/],
    ['a name given twice', [['Attribute.1.Name', 'A'], ['Attribute.1.Value', '1'], ['Attribute.2.Name', 'A'], ['Attribute.2.Value', '2']], 'InvalidParameterValue', /more than once/],
    ['a queue attribute named __proto__', [['Attribute.1.Name', '__proto__'], ['Attribute.1.Value', '1']], 'InvalidAttributeName', /__proto__/],
    ['a message attribute without a name', [['MessageAttribute.1.Value.DataType', 'String']], 'MissingParameter', /MessageAttribute\.1\.Name/],
    ['a message attribute with an unknown field', [['MessageAttribute.1.Name', 'a'], ['MessageAttribute.1.Value.Colour', 'red']], 'InvalidParameterValue', /Value\.Colour/],
    ['a plain batch entry', [['SendMessageBatchRequestEntry.1', 'x']], 'InvalidParameterValue', /structure/],
    ['an unknown nested parameter', [['Nope.1', 'x']], 'InvalidParameterValue', /Nope\.1/],
  ];
  for (const [what, params, code, message] of errors) {
    const e = thrown(() => decodeQueryInput('SetQueueAttributes', new Map(params)));
    t.equal(e.code, code, `${what}: ${code}`);
    t.match(e.message, message, `${what}: names the parameter`);
  }
});

t.test('JSON output becomes SQS’s XML', async (t) => {
  const xml = renderQueryResponse('ReceiveMessage', { Messages: [{ MessageId: 'm', Body: 'a\r\nb', Attributes: { SenderId: '1' }, MessageAttributes: { k: { DataType: 'String', StringValue: '<v>' } } }] }, 'req-1');
  t.equal(
    xml,
    '<?xml version="1.0"?><ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ReceiveMessageResult><Message><MessageId>m</MessageId><Body>a&#xD;\nb</Body>' +
      '<Attribute><Name>SenderId</Name><Value>1</Value></Attribute><MessageAttribute><Name>k</Name><Value><DataType>String</DataType><StringValue>&lt;v&gt;</StringValue></Value></MessageAttribute>' +
      '</Message></ReceiveMessageResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ReceiveMessageResponse>',
    'flattened messages, attributes and message attributes',
  );
  t.match(renderQueryResponse('DeleteMessageBatch', { Successful: [{ Id: 'a' }], Failed: [{ Id: 'b', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'x' }] }, 'r'), /<DeleteMessageBatchResultEntry><Id>a<\/Id><\/DeleteMessageBatchResultEntry><BatchResultErrorEntry><Id>b<\/Id><SenderFault>true<\/SenderFault>/, 'batch results by action');
  t.match(renderQueryResponse('ListQueues', { QueueUrls: ['u1', 'u2'] }, 'r'), /<ListQueuesResult><QueueUrl>u1<\/QueueUrl><QueueUrl>u2<\/QueueUrl><\/ListQueuesResult>/, 'queue URLs');
  t.match(renderQueryResponse('ListDeadLetterSourceQueues', { queueUrls: ['u1'] }, 'r'), /<ListDeadLetterSourceQueuesResult><QueueUrl>u1<\/QueueUrl>/, 'dead-letter sources');
  t.match(renderQueryResponse('ListQueueTags', { Tags: { a: 'b' } }, 'r'), /<Tag><Key>a<\/Key><Value>b<\/Value><\/Tag>/, 'tags');
  t.match(renderQueryResponse('ReceiveMessage', {}, 'r'), /<ReceiveMessageResult\/>/, 'an empty result');
  t.notMatch(renderQueryResponse('DeleteMessage', {}, 'r'), /Result/, 'no result element for actions without output');
  t.match(renderQueryResponse('ListMessageMoveTasks', { Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 3 }] }, 'r'), /<ListMessageMoveTasksResultEntry><Status>RUNNING<\/Status><ApproximateNumberOfMessagesMoved>3</, 'move tasks');
  const error = renderQueryError(new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.'), 'r-2');
  t.equal(error, '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error><RequestId>r-2</RequestId></ErrorResponse>', 'SQS’s error shape and legacy code');
  t.match(renderQueryError(new ConveyorError('ServiceUnavailable', 'x'), 'r'), /<Type>Receiver<\/Type>/, 'server faults are the receiver’s');
});

t.test('any text survives escaping as well-formed XML (property)', async (t) => {
  await fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
      const xml = `<a>${escapeXml(text)}</a>`;
      if (XMLValidator.validate(xml) !== true) return false;
      const back = String((parser.parse(xml) as { a: unknown }).a ?? '');
      // Characters XML cannot carry become U+FFFD; everything else comes back exactly.
      const expected = text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
      return back === expected;
    }),
    { seed, numRuns: 500 },
  );
  t.pass('escaped text parses back to itself');
});
