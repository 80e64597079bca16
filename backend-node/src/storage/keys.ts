/**
 * LevelDB key layout. Fixed-width hex keeps numeric order in byte order, so a range scan of a
 * queue's metas returns them in enqueue order.
 *   q!<queueId>              queue record
 *   m!<queueId>!<seq>        message meta (small; rewritten on receive)
 *   b!<messageId>            body and attributes (written once; kept across dead-letter moves)
 *   d!<queueId>!<dedupKey>   FIFO deduplication window entry
 *   c!queueIdFloor           lowest id a new queue may take (ids are never reused)
 */
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

export const QUEUE_ID_FLOOR_KEY = 'c!queueIdFloor';
export const queueKey = (queueId: number): string => `q!${hex(queueId, 8)}`;
export const metaKey = (queueId: number, seq: number): string => `m!${hex(queueId, 8)}!${hex(seq, 12)}`;
export const META_PREFIX = 'm!';
/** The queue id and sequence of a meta's key; undefined for any other key. */
export function parseMetaKey(key: string): { queueId: number; seq: number } | undefined {
  const match = /^m!([0-9a-f]{8})!([0-9a-f]{12})$/.exec(key);
  return match ? { queueId: parseInt(match[1]!, 16), seq: parseInt(match[2]!, 16) } : undefined;
}
export const metaPrefix = (queueId: number): string => `m!${hex(queueId, 8)}!`;
export const bodyKey = (messageId: string): string => `b!${messageId}`;
export const BODY_PREFIX = 'b!';
export const isBodyKey = (key: string): boolean => key.startsWith(BODY_PREFIX);
export const dedupKey = (queueId: number, key: string): string => `d!${hex(queueId, 8)}!${key}`;
export const dedupPrefix = (queueId: number): string => `d!${hex(queueId, 8)}!`;
/** The smallest string greater than every key with this prefix. */
export const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/*   l!<offset>               a replicated log record as earlier versions kept it (12 hex digits);
 *                            moved into segment files at open (segment-log.ts)
 *   s!replication            replication checkpoint: applied end, log start, leader epochs */
export const logKey = (offset: number): string => `l!${hex(offset, 12)}`;
export const LOG_PREFIX = 'l!';
export const REPLICATION_KEY = 's!replication';
