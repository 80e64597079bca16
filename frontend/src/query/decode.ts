/**
 * SQS query-protocol parameters → the JSON protocol's input, so both protocols share one set of
 * handlers. The query protocol flattens lists and maps into numbered parameters (the 2012-11-05
 * model's `flattened` members): `Attribute.1.Name`/`Attribute.1.Value`, `AttributeName.1`,
 * `MessageAttribute.1.Name` + `MessageAttribute.1.Value.StringValue|BinaryValue|DataType`,
 * `SendMessageBatchRequestEntry.1.Id`, `Tag.1.Key`/`Tag.1.Value`, `TagKey.1`. Binary values stay
 * base64 text, as in JSON. Parameter names are data: maps are built with own properties only.
 */
import { ConveyorError, missingParameter } from '@conveyor/client-sdk';
import type { Json } from '../sqs/shapes.ts';

type Params = Map<string, string>;

/** Flattened string lists: query name → JSON member. */
const LISTS: Readonly<Record<string, string>> = {
  AttributeName: 'AttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  TagKey: 'TagKeys',
  AWSAccountId: 'AWSAccountIds',
  ActionName: 'Actions',
};

/** Flattened string → string maps: query name → [JSON member, key field, value field]. */
const STRING_MAPS: Readonly<Record<string, readonly [string, string, string]>> = {
  Attribute: ['Attributes', 'Name', 'Value'],
  Tag: ['Tags', 'Key', 'Value'],
  // TagQueue's map as some clients name it.
  Tags: ['Tags', 'Key', 'Value'],
};

/** Flattened maps of attribute values (`N.Name`, `N.Value.DataType|StringValue|BinaryValue`). */
const VALUE_MAPS: Readonly<Record<string, string>> = {
  MessageAttribute: 'MessageAttributes',
  MessageSystemAttribute: 'MessageSystemAttributes',
};

/** Flattened lists of batch entries; each entry is a structure of its own. */
const ENTRY_LISTS = new Set(['SendMessageBatchRequestEntry', 'DeleteMessageBatchRequestEntry', 'ChangeMessageVisibilityBatchRequestEntry']);

/** Parameters that are the protocol's or the signature's, not the action's. */
const ENVELOPE = new Set(['Action', 'Version']);

const INDEX = /^[1-9]\d{0,3}$/;

function invalid(name: string, reason: string): ConveyorError {
  return new ConveyorError('InvalidParameterValue', `The parameter ${name.slice(0, 256)} is not valid: ${reason}.`, { parameter: name.slice(0, 256) });
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Splits parameters by their first name segment: `head` → (rest of the name → value); a bare `head` has rest ''. */
function groupByHead(params: Params): Map<string, Params> {
  const groups = new Map<string, Params>();
  for (const [name, value] of params) {
    const dot = name.indexOf('.');
    const head = dot < 0 ? name : name.slice(0, dot);
    const rest = dot < 0 ? '' : name.slice(dot + 1);
    let group = groups.get(head);
    if (!group) groups.set(head, (group = new Map()));
    group.set(rest, value);
  }
  return groups;
}

/** `N` or `N.rest` members of one flattened collection, in index order: index → (rest → value). */
function byIndex(prefix: string, members: Params): Array<[number, Params]> {
  const out = new Map<number, Params>();
  for (const [rest, value] of members) {
    if (rest === '') continue; // `Prefix=` alone: botocore's marker of an empty list.
    const dot = rest.indexOf('.');
    const index = dot < 0 ? rest : rest.slice(0, dot);
    if (!INDEX.test(index)) throw invalid(`${prefix}.${rest}`, 'the member number must be an integer from 1 to 9999');
    const n = Number(index);
    let entry = out.get(n);
    if (!entry) out.set(n, (entry = new Map()));
    entry.set(dot < 0 ? '' : rest.slice(dot + 1), value);
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]);
}

function decodeList(prefix: string, members: Params): string[] {
  return byIndex(prefix, members).map(([n, fields]) => {
    const value = fields.get('');
    if (value === undefined || fields.size > 1) throw invalid(`${prefix}.${n}`, 'a list member is a plain value');
    return value;
  });
}

function decodeStringMap(prefix: string, members: Params, keyField: string, valueField: string): Json {
  const out: Json = {};
  for (const [n, fields] of byIndex(prefix, members)) {
    for (const field of fields.keys()) if (field !== keyField && field !== valueField) throw invalid(`${prefix}.${n}.${field}`, `expected ${keyField} or ${valueField}`);
    const key = fields.get(keyField);
    if (key === undefined || key === '') throw missingParameter(`${prefix}.${n}.${keyField}`);
    const value = fields.get(valueField);
    if (value === undefined) throw missingParameter(`${prefix}.${n}.${valueField}`);
    if (Object.hasOwn(out, key)) throw invalid(`${prefix}.${n}.${keyField}`, `${key} is given more than once`);
    // Queue attributes and tags travel on as JSON, where this name is refused as a prototype change.
    if (key === '__proto__') {
      if (keyField === 'Name') throw new ConveyorError('InvalidAttributeName', `Unknown Attribute ${key}.`, { attribute: key });
      throw invalid(`${prefix}.${n}.${keyField}`, `${key} is not allowed`);
    }
    setOwn(out, key, value);
  }
  return out;
}

function decodeAttributeValue(prefix: string, fields: Params): Json {
  const value: Json = {};
  const stringList: Params = new Map();
  const binaryList: Params = new Map();
  for (const [field, text] of fields) {
    if (field === 'DataType' || field === 'StringValue' || field === 'BinaryValue') value[field] = text;
    else if (field.startsWith('StringListValue.')) stringList.set(field.slice('StringListValue.'.length), text);
    else if (field.startsWith('BinaryListValue.')) binaryList.set(field.slice('BinaryListValue.'.length), text);
    else throw invalid(`${prefix}.${field}`, 'expected DataType, StringValue, BinaryValue, StringListValue.N or BinaryListValue.N');
  }
  if (stringList.size > 0) value.StringListValues = decodeList(`${prefix}.StringListValue`, stringList);
  if (binaryList.size > 0) value.BinaryListValues = decodeList(`${prefix}.BinaryListValue`, binaryList);
  return value;
}

function decodeValueMap(prefix: string, members: Params): Json {
  const out: Json = {};
  for (const [n, fields] of byIndex(prefix, members)) {
    const name = fields.get('Name');
    if (name === undefined || name === '') throw missingParameter(`${prefix}.${n}.Name`);
    const valueFields: Params = new Map();
    for (const [field, text] of fields) {
      if (field === 'Name') continue;
      if (!field.startsWith('Value.')) throw invalid(`${prefix}.${n}.${field}`, 'expected Name or Value.<field>');
      valueFields.set(field.slice('Value.'.length), text);
    }
    if (Object.hasOwn(out, name)) throw invalid(`${prefix}.${n}.Name`, `${name} is given more than once`);
    setOwn(out, name, decodeAttributeValue(`${prefix}.${n}.Value`, valueFields));
  }
  return out;
}

/** One structure: plain parameters become string members, flattened collections become lists and maps. */
function decodeStructure(params: Params, path: string, depth: number): Json {
  const out: Json = {};
  for (const [head, members] of groupByHead(params)) {
    const name = path ? `${path}.${head}` : head;
    const plain = members.size === 1 && members.has('');
    if (Object.hasOwn(LISTS, head)) setOwn(out, LISTS[head]!, decodeList(name, members));
    else if (Object.hasOwn(STRING_MAPS, head)) {
      const [member, keyField, valueField] = STRING_MAPS[head]!;
      setOwn(out, member, decodeStringMap(name, members, keyField, valueField));
    } else if (Object.hasOwn(VALUE_MAPS, head)) setOwn(out, VALUE_MAPS[head]!, decodeValueMap(name, members));
    else if (ENTRY_LISTS.has(head) && depth === 0) {
      setOwn(out, 'Entries', byIndex(name, members).map(([n, fields]) => {
        if (fields.has('')) throw invalid(`${name}.${n}`, 'a batch entry is a structure');
        return decodeStructure(fields, `${name}.${n}`, depth + 1);
      }));
    } else if (plain) {
      if (!(depth === 0 && ENVELOPE.has(head))) setOwn(out, head, members.get(''));
    } else throw invalid(`${name}.${[...members.keys()].find((k) => k !== '') ?? ''}`, 'no such parameter');
  }
  return out;
}

/** The JSON protocol's input for `action`, from the request's query parameters. */
export function decodeQueryInput(action: string, params: Params): Json {
  const input = decodeStructure(params, '', 0);
  // CreateQueue's tag map is `tags` in JSON; TagQueue's is `Tags`.
  if (action === 'CreateQueue' && Object.hasOwn(input, 'Tags')) {
    setOwn(input, 'tags', input.Tags);
    delete input.Tags;
  }
  // Given both, SQS's query protocol honours the older AttributeName list on ReceiveMessage.
  if (action === 'ReceiveMessage' && Object.hasOwn(input, 'AttributeNames')) delete input.MessageSystemAttributeNames;
  return input;
}
