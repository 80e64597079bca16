import { hexDigest } from './digest.ts';
import type { MessageAttributes } from './types.ts';

/** Hex MD5 of the UTF-8 body, as SQS returns it in MD5OfMessageBody / MD5OfBody. */
export function md5OfBody(body: string): string {
  return hexDigest('md5', body);
}

function lengthPrefixed(bytes: Buffer): Buffer[] {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length, 0);
  return [len, bytes];
}

/**
 * MD5 of message attributes as SQS computes it: names sorted ascending; for each, length-prefixed
 * name and data type, a transport byte (1 string/number, 2 binary), then the length-prefixed value.
 * Returns undefined when there are no attributes (SQS then omits the field).
 */
export function md5OfMessageAttributes(attributes: MessageAttributes | undefined): string | undefined {
  if (!attributes) return undefined;
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const attr = attributes[name]!;
    parts.push(...lengthPrefixed(Buffer.from(name, 'utf8')));
    parts.push(...lengthPrefixed(Buffer.from(attr.DataType, 'utf8')));
    if (attr.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]), ...lengthPrefixed(Buffer.from(attr.BinaryValue)));
    } else {
      parts.push(Buffer.from([1]), ...lengthPrefixed(Buffer.from(attr.StringValue ?? '', 'utf8')));
    }
  }
  return hexDigest('md5', Buffer.concat(parts));
}
