/**
 * A follower's reading of send records for apply: the fields a replica's state needs, without the
 * bodies and attributes. On a replica a message's body stays in its log record (the meta's
 * `logRef`), so applying a send needs neither; decoding them made a string of every body on
 * every follower, most of what a follower allocated per message (and its garbage collections'
 * work). Reads only what encodeSendEntry writes; any other encoding (msgpackr's, for records it
 * left to msgpackr or from older data directories) gets `undefined`, for the full decoder.
 */
import { MsgpackReader, decodeNative, type MessageAttributes } from '@conveyor/client-sdk/wire';
import { SEND_ENTRY_KEYS, SEND_OPTIONAL_STRINGS } from './send-entry-encoding.ts';
import type { EncodedBody, MessageBody, NewMessage } from '../queue/types.ts';
import type { LogEntry } from '../replication/types.ts';

const K = SEND_ENTRY_KEYS;

/**
 * Reads encodeSendEntry's encoding; `bodies`, when given, gets every message's encoded body and
 * attributes by id (and the entry's messages are left out). Undefined if `bytes` is anything
 * else (or is cut short).
 */
function skim(bytes: Buffer, bodies: Map<string, EncodedBody> | undefined): LogEntry | undefined {
  const r = new MsgpackReader(bytes);
  if (r.mapHeader() !== 3 || !r.match(K.offset)) return undefined;
  const offset = r.number();
  r.expect(K.epoch);
  const epoch = r.number();
  r.expect(K.payload);
  if (r.failed || r.mapHeader() !== 4 || !r.match(K.type) || !r.match(K.send)) return undefined;
  r.expect(K.ts);
  const ts = r.number();
  r.expect(K.queue);
  const queue = r.string();
  r.expect(K.messages);
  const count = r.arrayHeader();
  if (r.failed) return undefined;
  const messages: NewMessage[] = [];
  for (let i = 0; i < count; i++) {
    const fields = r.mapHeader();
    if (fields < 5) return undefined;
    r.expect(K.seq);
    const seq = r.number();
    r.expect(K.id);
    const id = r.string();
    r.expect(K.body);
    let encodedBody: Buffer | undefined;
    if (bodies) encodedBody = r.encodedString();
    else r.skipString();
    r.expect(K.md5OfBody);
    // Reading bodies, only ids are wanted: the other strings are skipped, not made.
    let md5OfBody = '';
    if (bodies) r.skipString();
    else md5OfBody = r.string();
    r.expect(K.delayMs);
    const delayMs = r.number();
    if (r.failed) return undefined;
    const m: NewMessage | undefined = bodies ? undefined : { seq, id, body: '', md5OfBody, delayMs };
    let encodedAttributes: Buffer | undefined;
    // Then attributes, if any, and the optional strings in SEND_OPTIONAL_STRINGS order.
    let attributesAllowed = true;
    let next = 0;
    for (let f = 5; f < fields; f++) {
      if (attributesAllowed && r.match(K.attributes)) {
        if (bodies) encodedAttributes = r.encodedValue();
        else r.skipValue();
        attributesAllowed = false;
        continue;
      }
      attributesAllowed = false;
      let found = false;
      for (let o = next; o < SEND_OPTIONAL_STRINGS.length; o++) {
        if (!r.match(K.optional[o]!)) continue;
        if (m) m[SEND_OPTIONAL_STRINGS[o]!] = r.string();
        else r.skipString();
        next = o + 1;
        found = true;
        break;
      }
      if (!found) return undefined;
    }
    if (r.failed) return undefined;
    if (m) messages.push(m);
    if (bodies && encodedBody) bodies.set(id, encodedAttributes ? { encodedBody, encodedAttributes } : { encodedBody });
  }
  if (r.failed || r.pos !== bytes.length) return undefined;
  return { offset, epoch, payload: { type: 'send', ts, queue, messages } };
}

/**
 * A send record's entry with every message's `body` left empty and its `attributes` left out;
 * undefined if `bytes` is not encodeSendEntry's encoding of a send (or is cut short).
 */
export function skimSendEntry(bytes: Buffer): LogEntry | undefined {
  return skim(bytes, undefined);
}

/**
 * Every message's body and attributes in a send record, still encoded (views into `bytes`), by
 * message id: what a receive answer copies as they are. Undefined if `bytes` is not
 * encodeSendEntry's encoding of a send.
 */
export function skimSendBodies(bytes: Buffer): Map<string, EncodedBody> | undefined {
  const bodies = new Map<string, EncodedBody>();
  return skim(bytes, bodies) ? bodies : undefined;
}

/** A body and attributes as their send record encodes them, decoded. */
export function decodeEncodedBody(encoded: EncodedBody): MessageBody {
  const body = decodeNative<string>(encoded.encodedBody);
  return encoded.encodedAttributes ? { body, attributes: decodeNative<MessageAttributes>(encoded.encodedAttributes) } : { body };
}
