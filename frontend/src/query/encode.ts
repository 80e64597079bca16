/**
 * The JSON protocol's output → SQS's query-protocol XML: `<XResponse xmlns=…><XResult>…</XResult>
 * <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></XResponse>`, with lists and maps
 * flattened as the 2012-11-05 model says (`<Message>`, `<Attribute><Name/><Value/></Attribute>`,
 * `<SendMessageBatchResultEntry>`, …), and errors as `<ErrorResponse>`. Every text is escaped;
 * characters XML cannot carry at all become U+FFFD.
 */
import { ERROR_CODES, type ConveyorError } from '@conveyor/client-sdk';
import type { Json } from '../sqs/shapes.ts';

export const XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';
export const XML_CONTENT_TYPE = 'text/xml';

/** Actions whose response has no result element. */
const NO_RESULT = new Set(['DeleteQueue', 'SetQueueAttributes', 'DeleteMessage', 'ChangeMessageVisibility', 'PurgeQueue', 'TagQueue', 'UntagQueue', 'AddPermission', 'RemovePermission']);

/** Flattened lists: JSON member → the element each item is written as (`Successful` depends on the action). */
const LIST_ELEMENTS: Readonly<Record<string, string>> = {
  QueueUrls: 'QueueUrl',
  queueUrls: 'QueueUrl',
  Messages: 'Message',
  Failed: 'BatchResultErrorEntry',
  Results: 'ListMessageMoveTasksResultEntry',
};

/** Flattened maps: JSON member → [entry element, key element, value element]. */
const MAP_ELEMENTS: Readonly<Record<string, readonly [string, string, string]>> = {
  Attributes: ['Attribute', 'Name', 'Value'],
  Tags: ['Tag', 'Key', 'Value'],
  MessageAttributes: ['MessageAttribute', 'Name', 'Value'],
};

// Not in XML 1.0's Char production (control characters, lone surrogates, U+FFFE/U+FFFF).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };

/** Text safe inside an element; `\r` is written as `&#xD;` (as SQS does) so parsers keep it. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '\uFFFD').replace(/[&<>"'\r]/g, (c) => ESCAPES[c]!);
}

function element(name: string, content: string): string {
  return content === '' ? `<${name}/>` : `<${name}>${content}</${name}>`;
}

function scalar(value: unknown): string {
  return escapeXml(typeof value === 'string' ? value : String(value));
}

function renderItem(name: string, item: unknown, action: string): string {
  return typeof item === 'object' && item !== null ? element(name, renderStructure(item as Json, action)) : element(name, scalar(item));
}

function renderMember(name: string, value: unknown, action: string): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    const itemName = name === 'Successful' ? `${action}ResultEntry` : (LIST_ELEMENTS[name] ?? name);
    return value.map((item) => renderItem(itemName, item, action)).join('');
  }
  if (typeof value === 'object') {
    const map = MAP_ELEMENTS[name];
    if (!map) return element(name, renderStructure(value as Json, action));
    const [entry, key, val] = map;
    return Object.entries(value as Json)
      .map(([k, v]) => `<${entry}>${element(key, escapeXml(k))}${renderItem(val, v, action)}</${entry}>`)
      .join('');
  }
  return element(name, scalar(value));
}

function renderStructure(value: Json, action: string): string {
  return Object.entries(value)
    .map(([name, member]) => renderMember(name, member, action))
    .join('');
}

/** A successful answer to `action` (whose JSON output is `output`). */
export function renderQueryResponse(action: string, output: Json, requestId: string): string {
  const result = NO_RESULT.has(action) ? '' : element(`${action}Result`, renderStructure(output, action));
  const metadata = `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>`;
  return `<?xml version="1.0"?><${action}Response xmlns="${XML_NAMESPACE}">${result}${metadata}</${action}Response>`;
}

/** SQS's query-protocol message for a few errors differs from the JSON protocol's. */
function queryMessage(error: ConveyorError): string {
  if (error.code === 'QueueDoesNotExist' && error.message === 'The specified queue does not exist.') return 'The specified queue does not exist for this wsdl version.';
  return error.message;
}

/** An error answer: the legacy code, Sender or Receiver, the message and the request id. */
export function renderQueryError(error: ConveyorError, requestId: string): string {
  const info = ERROR_CODES[error.code];
  const body =
    `<Error><Type>${info.senderFault ? 'Sender' : 'Receiver'}</Type><Code>${escapeXml(info.legacyCode)}</Code>` +
    `<Message>${escapeXml(queryMessage(error))}</Message><Detail/></Error><RequestId>${escapeXml(requestId)}</RequestId>`;
  return `<?xml version="1.0"?><ErrorResponse xmlns="${XML_NAMESPACE}">${body}</ErrorResponse>`;
}
