/**
 * How nodes talk to each other: fetch requests to the leader and snapshot downloads, msgpack over
 * HTTP with undici (one keep-alive pool per peer).
 */
import { Agent, request } from 'undici';
import { rawPost } from '@conveyor/client-sdk';
import { ConveyorError, decodeNative, encodeNative, NATIVE_CONTENT_TYPE, type NativeError } from '@conveyor/client-sdk/wire';
import { decodeSnapshotItem } from '../storage/replication-store.ts';
import type { FetchRequest, FetchResponse, SnapshotHeader } from './types.ts';

export interface PeerTransport {
  fetch(leaderUrl: string, req: FetchRequest, timeoutMs: number, signal?: AbortSignal): Promise<FetchResponse>;
  snapshot(leaderUrl: string, timeoutMs: number): Promise<{ header: SnapshotHeader; pairs: AsyncIterable<[string, Buffer]> }>;
  close(): Promise<void>;
}

async function readError(statusCode: number, body: Buffer): Promise<ConveyorError> {
  try {
    const { error } = decodeNative<NativeError>(body);
    return new ConveyorError(error.code, error.message, error.context ?? {});
  } catch {
    return new ConveyorError('ServiceUnavailable', `peer answered HTTP ${statusCode}`);
  }
}

/** Splits a stream of [u32 length][msgpack item] frames into items. */
async function* frames(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      yield pending.subarray(4, 4 + length);
      pending = pending.subarray(4 + length);
    }
  }
  if (pending.length > 0) throw new Error('snapshot stream ended mid-frame');
}

const FETCH_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': NATIVE_CONTENT_TYPE });

export function createHttpPeerTransport(): PeerTransport {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 4, pipelining: 1 });
  // Leader URL → origin and fetch path, parsed once (a follower fetches from one leader at a time).
  const fetchTargets = new Map<string, { origin: string; path: string }>();
  return {
    async fetch(leaderUrl, req, timeoutMs, signal) {
      let target = fetchTargets.get(leaderUrl);
      if (!target) {
        const url = new URL(`${leaderUrl}/replication/fetch`);
        target = { origin: url.origin, path: url.pathname };
        if (fetchTargets.size > 100) fetchTargets.clear(); // bounded: leaders come and go
        fetchTargets.set(leaderUrl, target);
      }
      // Fetches are the hottest request between nodes: a raw dispatch, without request()'s response stream.
      const res = await rawPost(agent, target.origin, target.path, FETCH_HEADERS, encodeNative(req), timeoutMs, signal);
      if (res.statusCode !== 200) throw await readError(res.statusCode, res.body);
      return decodeNative<FetchResponse>(res.body);
    },
    async snapshot(leaderUrl, timeoutMs) {
      const res = await request(`${leaderUrl}/replication/snapshot`, { method: 'GET', dispatcher: agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      if (res.statusCode !== 200) throw await readError(res.statusCode, Buffer.from(await res.body.arrayBuffer()));
      const iterator = frames(res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done) throw new Error('empty snapshot');
      const header = decodeSnapshotItem(first.value) as SnapshotHeader;
      const pairs = (async function* () {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield decodeSnapshotItem(next.value) as [string, Buffer];
      })();
      return { header, pairs };
    },
    close: () => agent.close(),
  };
}
