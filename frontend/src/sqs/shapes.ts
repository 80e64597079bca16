/**
 * SQS JSON shapes ↔ Conveyor's: message attributes (BinaryValue is base64 in JSON), queue URLs
 * (`<public url>/<account>/<queue>`), and parameter type checks that name the parameter.
 */
import { ConveyorError, invalidParameter, missingParameter, type MessageAttributes } from '@conveyor/client-sdk';

export type Json = Record<string, unknown>;

export function requireString(input: Json, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === '') throw missingParameter(name);
  if (typeof value !== 'string') throw invalidParameter(name, JSON.stringify(value), 'Must be a string.');
  return value;
}

export function optionalString(input: Json, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(name, JSON.stringify(value), 'Must be a string.');
  return value;
}

export function optionalInteger(input: Json, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalidParameter(name, JSON.stringify(value), 'Must be an integer.');
  return n;
}

export function optionalStringMap(input: Json, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalidParameter(name, '', 'Must be a map of strings.');
  }
  return value as Record<string, string>;
}

export function optionalStringList(input: Json, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidParameter(name, '', 'Must be a list of strings.');
  return value as string[];
}

export function optionalList(input: Json, name: string): Json[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v))) throw invalidParameter(name, '', 'Must be a list of structures.');
  return value as Json[];
}

/** JSON message attributes → ours (binary values decoded from base64). */
export function fromJsonAttributes(value: unknown, name = 'MessageAttributes'): MessageAttributes | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter(name, '', 'Must be a map of attribute names to values.');
  const out: MessageAttributes = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null) throw new ConveyorError('InvalidParameterValue', `The message attribute '${key}' must be a structure.`, { attribute: key });
    const v = raw as { DataType?: unknown; StringValue?: unknown; BinaryValue?: unknown; StringListValues?: unknown; BinaryListValues?: unknown };
    if ((Array.isArray(v.StringListValues) && v.StringListValues.length > 0) || (Array.isArray(v.BinaryListValues) && v.BinaryListValues.length > 0)) {
      throw new ConveyorError('InvalidParameterValue', `Message attribute list values in MessageAttribute '${key}' are not supported.`, { attribute: key });
    }
    const attr: MessageAttributes[string] = { DataType: typeof v.DataType === 'string' ? v.DataType : '' };
    if (typeof v.StringValue === 'string') attr.StringValue = v.StringValue;
    if (typeof v.BinaryValue === 'string') attr.BinaryValue = Buffer.from(v.BinaryValue, 'base64');
    out[key] = attr;
  }
  return out;
}

/** Ours → JSON (binary values as base64). */
export function toJsonAttributes(attributes: MessageAttributes): Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> {
  const out: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> = {};
  for (const [key, v] of Object.entries(attributes)) {
    out[key] = v.BinaryValue !== undefined ? { DataType: v.DataType, BinaryValue: Buffer.from(v.BinaryValue).toString('base64') } : { DataType: v.DataType, StringValue: v.StringValue ?? '' };
  }
  return out;
}

export function queueUrl(publicUrl: string, owner: string, name: string): string {
  return `${publicUrl}/${owner}/${name}`;
}

/** The QueueUrl of a request, or its path when it was sent to a queue URL (`/<account>/<name>`). */
export function queueUrlFrom(input: Json, path: string): string {
  const url = input.QueueUrl;
  if (typeof url === 'string' && url.length > 0) return url;
  if (url === undefined && /^\/\d+\/[^/]+$/.test(path)) return path;
  throw missingParameter('QueueUrl');
}

/** The queue a QueueUrl names (its last path segment), or the queue of the request path. */
export function queueNameFrom(input: Json, path: string): string {
  const url = input.QueueUrl;
  let text: string;
  if (typeof url === 'string' && url.length > 0) text = url;
  else if (url === undefined && /^\/\d+\/[^/]+$/.test(path)) text = path;
  else throw missingParameter('QueueUrl');
  const name = text.replace(/\/+$/, '').split('/').pop() ?? '';
  if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name) || name.length > 80) {
    throw new ConveyorError('QueueDoesNotExist', 'The specified queue does not exist.', { queue: name });
  }
  return name;
}
