/**
 * The replicated log's records in append-only segment files, outside LevelDB: a record is
 * written once, where LevelDB would have written it to its own log, then to a table, then again
 * at every compaction until a trim's deletes caught up with it (its compaction thread took about
 * a third of a follower's CPU). A segment is named by its first offset; each record is framed as
 *
 *   length u32 | crc32 u32 | offset (u32 high, u32 low) | epoch u32 | the record's bytes
 *
 * with the CRC over the offset, the epoch and the bytes, so a torn write at the end of the last
 * segment (a crash mid-append) is recognized and cut off at open. Appends are durable before
 * they resolve. Reads open the file they need, so a segment deleted by a trim
 * meanwhile reads as gone rather than failing a shared handle. Mutations run one at a time.
 */
import { constants } from 'node:fs';
import { open, mkdir, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EpochStart } from '../replication/epoch-cache.ts';
import { StorageError } from './queue-store.ts';

const HEADER_BYTES = 20;
const NAME = /^([0-9a-f]{16})\.log$/;
/** A new segment is started once the last one holds this much (whole segments are what trims delete). */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface SegmentRecord {
  offset: number;
  epoch: number;
  bytes: Buffer;
}

interface Segment {
  base: number;
  path: string;
  /** File position of each record's frame, by offset − base. */
  positions: number[];
  /** Bytes of whole records (the file is cut to this at open). */
  size: number;
}


/**
 * Appends go through a handle opened with O_DSYNC where the platform has it: each write returns
 * once its data is durable, one system call (and one trip to libuv's thread pool) instead of a
 * write and an fdatasync.
 */
const APPEND_FLAGS = constants.O_DSYNC === undefined ? constants.O_RDWR : constants.O_RDWR | constants.O_DSYNC;

const segmentName = (base: number): string => `${base.toString(16).padStart(16, '0')}.log`;

/** The CRC of a frame's offset and epoch (as its header holds them) and its bytes. */
function frameCrc(bytes: Uint8Array, header: Buffer, at: number): number {
  return crc32(bytes, crc32(header.subarray(at + 8, at + HEADER_BYTES)));
}

function writeHeader(header: Buffer, at: number, record: SegmentRecord): void {
  header.writeUInt32LE(record.bytes.length, at);
  header.writeUInt32LE(Math.floor(record.offset / 2 ** 32), at + 8);
  header.writeUInt32LE(record.offset >>> 0, at + 12);
  header.writeUInt32LE(record.epoch, at + 16);
  header.writeUInt32LE(frameCrc(record.bytes, header, at), at + 4);
}

/** The frame at `at` in `data` if it is whole and its CRC holds; undefined otherwise. */
function readFrame(data: Buffer, at: number): SegmentRecord | undefined {
  if (at + HEADER_BYTES > data.length) return undefined;
  const length = data.readUInt32LE(at);
  const end = at + HEADER_BYTES + length;
  if (end > data.length) return undefined;
  const offset = data.readUInt32LE(at + 8) * 2 ** 32 + data.readUInt32LE(at + 12);
  const epoch = data.readUInt32LE(at + 16);
  const bytes = data.subarray(at + HEADER_BYTES, end);
  if (frameCrc(bytes, data, at) !== data.readUInt32LE(at + 4)) return undefined;
  return { offset, epoch, bytes };
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class SegmentLog {
  private segments: Segment[] = [];
  /** The last segment's handle, opened for appends when first needed. */
  private active: FileHandle | undefined;
  private mutations: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string, private readonly segmentBytes: number) {}

  /**
   * Opens (creating) the directory and indexes every segment, cutting a torn record off the end
   * of the last one. `epochStarts` lists where the records' epoch changes (`epoch` starts at
   * `startOffset`), from the first record.
   */
  static async open(dir: string, options: { segmentBytes?: number } = {}): Promise<{ log: SegmentLog; epochStarts: EpochStart[] }> {
    await mkdir(dir, { recursive: true });
    const log = new SegmentLog(dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    const bases = (await readdir(dir)).flatMap((name) => {
      const match = NAME.exec(name);
      return match ? [parseInt(match[1]!, 16)] : [];
    }).sort((a, b) => a - b);
    const epochStarts: EpochStart[] = [];
    for (let i = 0; i < bases.length; i++) {
      const segment: Segment = { base: bases[i]!, path: join(dir, segmentName(bases[i]!)), positions: [], size: 0 };
      const last = log.segments.at(-1);
      if (last && last.base + last.positions.length !== segment.base) {
        // A segment that does not continue the one before: left by a truncation whose deletes a
        // crash undid. Records past a gap are not part of the log.
        await log.deleteFiles(bases.slice(i).map((b) => join(dir, segmentName(b))));
        break;
      }
      const data = await readWhole(segment.path);
      let at = 0;
      while (at < data.length) {
        const frame = readFrame(data, at);
        if (!frame || frame.offset !== segment.base + segment.positions.length) break;
        if (frame.epoch !== epochStarts.at(-1)?.epoch) epochStarts.push({ epoch: frame.epoch, startOffset: frame.offset });
        segment.positions.push(at);
        at += HEADER_BYTES + frame.bytes.length;
      }
      segment.size = at;
      if (at < data.length) {
        if (i < bases.length - 1) {
          throw new StorageError(`The log segment ${segment.path} is damaged at byte ${at} of ${data.length}, before the last segment: its later records cannot be trusted. Move the data directory aside so the node starts over from its cluster.`);
        }
        // A torn append at the end: nothing in it was acknowledged (appends resolve once durable).
        await cutFile(segment.path, at);
      }
      if (segment.positions.length === 0 && log.segments.length > 0) {
        await log.deleteFiles([segment.path]);
        continue;
      }
      log.segments.push(segment);
    }
    return { log, epochStarts };
  }

  /** The first offset held, or undefined when no segment holds a record. */
  get start(): number | undefined {
    const first = this.segments[0];
    return first && first.positions.length > 0 ? first.base : undefined;
  }

  /** One past the last record held, or undefined when no segment holds a record. */
  get end(): number | undefined {
    const last = this.segments.at(-1);
    return last && last.positions.length > 0 ? last.base + last.positions.length : undefined;
  }

  /** Appends records (consecutive, continuing the log unless it is empty) and syncs them. */
  append(records: readonly SegmentRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.serialized(async () => {
      const end = this.end;
      records.forEach((r, i) => {
        const expected = (end ?? records[0]!.offset) + i;
        if (r.offset !== expected) throw new Error(`record ${r.offset} does not continue the log at ${expected}`);
      });
      let segment = this.segments.at(-1);
      if (!segment || segment.positions.length === 0 || segment.size >= this.segmentBytes) {
        await this.closeActive();
        if (segment && segment.positions.length === 0) {
          await this.deleteFiles([segment.path]);
          this.segments.pop();
        }
        segment = { base: records[0]!.offset, path: join(this.dir, segmentName(records[0]!.offset)), positions: [], size: 0 };
        await writeFile(segment.path, new Uint8Array(0), { flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
          await writeFile(segment!.path, new Uint8Array(0)); // an empty leftover of an earlier run
        });
        await syncDirectory(this.dir);
        this.segments.push(segment);
      }
      this.active ??= await open(segment.path, APPEND_FLAGS);
      const headers = Buffer.allocUnsafe(HEADER_BYTES * records.length);
      const buffers: Buffer[] = [];
      const positions: number[] = [];
      let at = segment.size;
      records.forEach((record, i) => {
        writeHeader(headers, i * HEADER_BYTES, record);
        buffers.push(headers.subarray(i * HEADER_BYTES, (i + 1) * HEADER_BYTES), record.bytes);
        positions.push(at);
        at += HEADER_BYTES + record.bytes.length;
      });
      await writeAll(this.active, buffers, segment.size, at - segment.size);
      if (constants.O_DSYNC === undefined) await this.active.datasync();
      for (const p of positions) segment.positions.push(p);
      segment.size = at;
    });
  }

  /**
   * Records from `from` on, up to `maxBytes` of records (at least one) and `maxCount` records,
   * read from disk; fewer (or none) where a segment was deleted meanwhile. Each record's bytes
   * are a view into one read buffer.
   */
  async read(from: number, maxBytes: number, maxCount: number): Promise<SegmentRecord[]> {
    const out: SegmentRecord[] = [];
    let bytes = 0;
    while (out.length < maxCount && bytes < maxBytes) {
      // Looked up again each time: a trim may have removed segments while a read was under way.
      const segment = this.segments.find((s) => from >= s.base && from < s.base + s.positions.length);
      if (!segment) break;
      const first = from - segment.base;
      let last = first;
      let span = 0;
      // Whole records only: each one's frame runs to the next one's (or to the segment's size).
      while (last < segment.positions.length && out.length + (last - first) < maxCount && (last === first || bytes + span < maxBytes)) {
        span = (segment.positions[last + 1] ?? segment.size) - segment.positions[first]!;
        last++;
      }
      const data = await readRange(segment.path, segment.positions[first]!, span);
      if (!data) break;
      let at = 0;
      for (let offset = from; offset < segment.base + last; offset++) {
        const frame = readFrame(data, at);
        if (!frame || frame.offset !== offset) throw new StorageError(`The log segment ${segment.path} holds no whole record ${offset} where its index says.`);
        out.push(frame);
        at += HEADER_BYTES + frame.bytes.length;
      }
      bytes += span;
      from = segment.base + last;
    }
    return out;
  }

  /** Removes the records at and after `from` (synced). */
  truncateFrom(from: number): Promise<void> {
    return this.serialized(async () => {
      const keep = this.segments.findIndex((s) => from < s.base + s.positions.length);
      if (keep < 0) return;
      const segment = this.segments[keep]!;
      await this.closeActive();
      const doomed = this.segments.splice(from <= segment.base ? keep : keep + 1);
      if (from > segment.base) {
        const size = segment.positions[from - segment.base]!;
        await cutFile(segment.path, size);
        segment.positions.length = from - segment.base;
        segment.size = size;
      }
      // Durably gone: a deleted segment that came back after a crash would put records past the cut.
      if (doomed.length > 0) await this.deleteFiles(doomed.map((s) => s.path), true);
    });
  }

  /** Deletes the segments whose records are all before `before` (the last segment is never deleted while it holds the end). */
  deleteBefore(before: number): Promise<void> {
    return this.serialized(async () => {
      let n = 0;
      while (n < this.segments.length && this.segments[n]!.base + this.segments[n]!.positions.length <= before && n < this.segments.length - 1) n++;
      if (n === 0) return;
      const doomed = this.segments.splice(0, n);
      await this.deleteFiles(doomed.map((s) => s.path));
    });
  }

  /** Deletes every segment (a snapshot replaces the log); the next append starts a new one. */
  clear(): Promise<void> {
    return this.serialized(async () => {
      await this.closeActive();
      const doomed = this.segments.splice(0);
      const names = (await readdir(this.dir)).filter((name) => NAME.test(name));
      await this.deleteFiles([...new Set([...doomed.map((s) => s.path), ...names.map((name) => join(this.dir, name))])], true);
    });
  }

  /** Waits for every mutation, then releases the append handle. */
  close(): Promise<void> {
    return this.serialized(() => this.closeActive());
  }

  private async closeActive(): Promise<void> {
    const handle = this.active;
    this.active = undefined;
    await handle?.close();
  }

  private async deleteFiles(paths: readonly string[], durably = false): Promise<void> {
    for (const path of paths) await rm(path, { force: true });
    if (durably) await syncDirectory(this.dir);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mutations.then(work, work);
    this.mutations = run.catch(() => undefined);
    return run;
  }
}

/** Cuts a file to `size` bytes, durably. */
async function cutFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readWhole(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** `length` bytes at `position`, or undefined if the file is gone (deleted by a trim). */
async function readRange(path: string, position: number, length: number): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const data = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(data, done, length - done, position + done);
      if (bytesRead === 0) return undefined; // cut by a truncation meanwhile
      done += bytesRead;
    }
    return data;
  } finally {
    await handle.close();
  }
}

/** Writes every buffer at `position` on, however the kernel splits the write. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number, total: number): Promise<void> {
  let written = (await handle.writev(buffers, position)).bytesWritten;
  if (written === total) return;
  const rest = Buffer.concat(buffers).subarray(written);
  while (written < total) {
    const { bytesWritten } = await handle.write(rest, written - (total - rest.length), total - written, position + written);
    written += bytesWritten;
  }
}
