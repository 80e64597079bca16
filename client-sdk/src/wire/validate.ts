/**
 * SQS's parameter rules as pure functions. Each throws a ConveyorError naming the parameter and the
 * rule, with SQS's code and (where recorded) its reason text. The frontend runs them before a
 * request reaches a backend; the backend runs them again so nothing invalid reaches storage.
 */
import { ConveyorError, invalidParameter, missingParameter } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { MessageAttributes, MessageAttributeValue } from './types.ts';

// Characters SQS allows in bodies and string attribute values (XML 1.0's Char production).
// eslint-disable-next-line no-control-regex -- the allowed set is defined by control characters
const FORBIDDEN_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// The same set, checked five times faster: forbidden UTF-16 units outside the surrogates (no `u`
// flag, which makes V8 decode code points), then surrogates that are not in pairs.
// eslint-disable-next-line no-control-regex -- as above
const FORBIDDEN_UNIT = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
/** String.prototype.isWellFormed: in Node 20, not in TypeScript's ES2023 library. */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();
/** Whether a body or string attribute value has a character SQS refuses (FORBIDDEN_CHAR). */
const hasForbiddenChar = (s: string): boolean => FORBIDDEN_UNIT.test(s) || !isWellFormed(s);
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]+$/;
const GROUP_OR_DEDUP_ID = /^[!-~]{1,128}$/;
const NUMBER_VALUE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describeChar(ch: string): string {
  return `#x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
}

export function checkMessageBody(body: unknown): string {
  if (body === undefined || body === null) throw missingParameter('MessageBody');
  if (typeof body !== 'string') throw invalidParameter('MessageBody', typeof body, 'Must be a string.');
  if (body.length === 0) throw missingParameter('MessageBody');
  const bad = hasForbiddenChar(body) ? FORBIDDEN_CHAR.exec(body) : null;
  if (bad) {
    throw new ConveyorError(
      'InvalidMessageContents',
      `Invalid binary character '${describeChar(bad[0])}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
      { parameter: 'MessageBody' },
    );
  }
  return body;
}

function attributeError(message: string, name: string): ConveyorError {
  return new ConveyorError('InvalidParameterValue', message, { parameter: 'MessageAttributes', attribute: name });
}

export function checkAttributeName(name: string): void {
  if (name.length === 0) throw attributeError('Message (user) attribute name must not be empty.', name);
  if (name.length > LIMITS.maxAttributeNameLength) {
    throw attributeError(`Message (user) attribute name '${name}' is too long. Reason: Must be at most 256 characters.`, name);
  }
  if (!ATTRIBUTE_NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
    throw attributeError(
      `Message (user) attribute name '${name}' is invalid. Reason: Names may contain alphanumeric characters, '_', '-' and '.', and may not start or end with '.' or contain '..'.`,
      name,
    );
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('aws.') || lower.startsWith('amazon.')) {
    throw attributeError(`Message (user) attribute name '${name}' is invalid. Reason: Names starting with 'AWS.' or 'Amazon.' are reserved.`, name);
  }
  // msgpack decoders (msgpackr among them) rename this key to keep objects' prototypes safe, so
  // it could not arrive as sent: refused, rather than delivered under another name.
  if (name === '__proto__') throw attributeError(`Message (user) attribute name '${name}' is invalid. Reason: The name __proto__ is reserved.`, name);
}

/** Checks one attribute value and returns the bytes it counts toward the message size. */
export function checkAttributeValue(name: string, value: MessageAttributeValue): number {
  const dataType = value?.DataType;
  if (typeof dataType !== 'string' || dataType.length === 0) {
    throw attributeError(`The message attribute '${name}' must contain non-empty message attribute type.`, name);
  }
  if (dataType.length > LIMITS.maxAttributeDataTypeLength) {
    throw attributeError(`The message attribute '${name}' has a data type longer than 256 characters.`, name);
  }
  const baseType = dataType.split('.', 1)[0];
  if (baseType !== 'String' && baseType !== 'Number' && baseType !== 'Binary') {
    throw attributeError(`The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`, name);
  }
  const nameBytes = Buffer.byteLength(name, 'utf8') + Buffer.byteLength(dataType, 'utf8');
  if (baseType === 'Binary') {
    const bin = value.BinaryValue;
    if (!(bin instanceof Uint8Array) || bin.length === 0 || value.StringValue !== undefined) {
      throw attributeError(`Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`, name);
    }
    return nameBytes + bin.length;
  }
  const str = value.StringValue;
  if (typeof str !== 'string' || str.length === 0 || value.BinaryValue !== undefined) {
    throw attributeError(`Message (user) attribute '${name}' must contain a non-empty value of type '${baseType}'.`, name);
  }
  if (hasForbiddenChar(str)) {
    throw new ConveyorError('InvalidMessageContents', `Message (user) attribute '${name}' contains characters outside the allowed set.`, { attribute: name });
  }
  if (baseType === 'Number' && !isValidSqsNumber(str)) {
    throw attributeError(`Can't cast the value of message (user) attribute '${name}' to a number.`, name);
  }
  return nameBytes + Buffer.byteLength(str, 'utf8');
}

/** SQS numbers: up to 38 significant digits, magnitude between 10^-128 and 10^+126. */
export function isValidSqsNumber(text: string): boolean {
  if (!NUMBER_VALUE.test(text)) return false;
  const [mantissa = '', exponentText] = text.replace(/^[+-]/, '').split(/[eE]/);
  const digits = mantissa.replace('.', '').replace(/^0+/, '');
  if (digits.length === 0) return true; // zero
  const significant = digits.replace(/0+$/, '');
  if (significant.length > 38) return false;
  const intPart = mantissa.split('.')[0]!.replace(/^0+/, '');
  const fracPart = mantissa.split('.')[1] ?? '';
  // Decimal exponent of the leading significant digit.
  const leading = intPart.length > 0 ? intPart.length - 1 : -(fracPart.length - fracPart.replace(/^0+/, '').length) - 1;
  const magnitude = leading + Number(exponentText ?? 0);
  // Both bounds are inclusive: 10^-128 and 10^+126 pass, 9e-129 and 2e126 do not.
  if (magnitude === 126) return significant === '1';
  return magnitude >= -128 && magnitude < 126;
}

/** Checks message attributes and returns the bytes they count toward the message size. */
export function checkMessageAttributes(attributes: MessageAttributes | undefined): number {
  if (attributes === undefined) return 0;
  if (typeof attributes !== 'object' || attributes === null) {
    throw invalidParameter('MessageAttributes', typeof attributes, 'Must be a map of attribute names to values.');
  }
  const names = Object.keys(attributes);
  if (names.length > LIMITS.maxMessageAttributes) {
    throw new ConveyorError('InvalidParameterValue', `Number of message attributes [${names.length}] exceeds the allowed maximum [10].`, { parameter: 'MessageAttributes' });
  }
  let bytes = 0;
  for (const name of names) {
    checkAttributeName(name);
    bytes += checkAttributeValue(name, attributes[name]!);
  }
  return bytes;
}

export function checkMessageSize(totalBytes: number, maxBytes: number): void {
  if (totalBytes > maxBytes) {
    throw new ConveyorError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
      { parameter: 'MessageBody', bytes: totalBytes },
    );
  }
}

export function checkIntegerInRange(parameter: string, value: unknown, min: number, max: number, reason?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(parameter, value, reason ?? `Must be >= ${min} and <= ${max}, if provided.`);
  }
  return value;
}

export function checkDelaySeconds(value: unknown): number {
  return checkIntegerInRange('DelaySeconds', value, 0, LIMITS.maxDelaySeconds);
}

export function checkVisibilityTimeout(value: unknown): number {
  return checkIntegerInRange('VisibilityTimeout', value, 0, LIMITS.maxVisibilityTimeoutSeconds);
}

export function checkMaxNumberOfMessages(value: unknown): number {
  return checkIntegerInRange('MaxNumberOfMessages', value, 1, LIMITS.maxReceiveMessages, 'Must be between 1 and 10, if provided.');
}

export function checkWaitTimeSeconds(value: unknown): number {
  return checkIntegerInRange('WaitTimeSeconds', value, 0, LIMITS.maxWaitTimeSeconds);
}

export function checkMessageGroupId(value: unknown): string {
  if (typeof value !== 'string' || !GROUP_OR_DEDUP_ID.test(value)) {
    throw invalidParameter('MessageGroupId', typeof value === 'string' ? value : '', 'MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.');
  }
  return value;
}

export function checkDeduplicationId(value: unknown): string {
  if (typeof value !== 'string' || !GROUP_OR_DEDUP_ID.test(value)) {
    throw invalidParameter('MessageDeduplicationId', typeof value === 'string' ? value : '', 'MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.');
  }
  return value;
}

export function checkReceiveRequestAttemptId(value: unknown): string {
  if (typeof value !== 'string' || !GROUP_OR_DEDUP_ID.test(value)) {
    throw invalidParameter('ReceiveRequestAttemptId', typeof value === 'string' ? value : '', 'ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.');
  }
  return value;
}

/** Batch-level rules shared by every *Batch action: 1–10 entries, ids well-formed and distinct. */
export function checkBatchEntries<T extends { Id?: unknown }>(entries: readonly T[] | undefined, entryName: string, maxEntries: number = LIMITS.maxBatchEntries): void {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ConveyorError('EmptyBatchRequest', `There should be at least one ${entryName} in the request.`);
  }
  if (entries.length > maxEntries) {
    throw new ConveyorError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${maxEntries}. You have sent ${entries.length}.`);
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw new ConveyorError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.', { id: String(id) });
    }
    if (seen.has(id)) throw new ConveyorError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, { id });
    seen.add(id);
  }
}

/** Bytes message attributes add to a batch payload (name, type and value), counted without validating them. */
function attributeBytes(attributes: MessageAttributes | undefined): number {
  if (typeof attributes !== 'object' || attributes === null) return 0;
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (typeof value?.DataType === 'string') bytes += Buffer.byteLength(value.DataType, 'utf8');
    if (value?.BinaryValue instanceof Uint8Array) bytes += value.BinaryValue.length;
    else if (typeof value?.StringValue === 'string') bytes += Buffer.byteLength(value.StringValue, 'utf8');
  }
  return bytes;
}

/**
 * The batch-level rules of a send batch (entry count and ids, total payload with attributes) for
 * the native API, where `maxEntries` may exceed SQS's 10 and then allows 1 MiB per entry.
 * Returns the payload's bytes.
 */
export function checkSendBatch(entries: ReadonlyArray<{ id: string; body?: unknown; attributes?: MessageAttributes }>, maxEntries: number = LIMITS.maxBatchEntries): number {
  checkBatchEntries(entries.map((e) => ({ Id: e.id })), 'SendMessageBatchRequestEntry', maxEntries);
  let total = 0;
  for (const e of entries) total += (typeof e.body === 'string' ? Buffer.byteLength(e.body, 'utf8') : 0) + attributeBytes(e.attributes); // attributes count toward the payload, as for one message
  checkBatchSize(total, maxEntries === LIMITS.maxBatchEntries ? LIMITS.maxBatchBytes : maxEntries * LIMITS.maxMessageBytes);
  return total;
}

export function checkBatchSize(totalBytes: number, maxBytes: number = LIMITS.maxBatchBytes): void {
  if (totalBytes > maxBytes) {
    throw new ConveyorError('BatchRequestTooLong', `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${totalBytes} bytes.`, { bytes: totalBytes });
  }
}
