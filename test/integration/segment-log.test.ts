/**
 * The log's segment files: for any sequence of appends, truncations, trims and reopenings, reads
 * give exactly the records a plain array would hold; a torn append at the end is cut off at
 * open, damage before the last segment is refused, and a segment past a gap is dropped.
 */
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { SegmentLog, StorageError, type SegmentRecord } from '@conveyor/backend-node';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-segments-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const record = (offset: number, epoch: number, size: number): SegmentRecord => ({
  offset,
  epoch,
  bytes: Buffer.from(Array.from({ length: size }, (_, i) => (offset * 31 + i) & 0xff)),
});

const plain = (records: readonly SegmentRecord[]) => records.map((r) => ({ offset: r.offset, epoch: r.epoch, bytes: Buffer.from(r.bytes).toString('hex') }));

type Op =
  | { kind: 'append'; sizes: number[]; newEpoch: boolean }
  | { kind: 'truncate'; at: number }
  | { kind: 'trim'; at: number }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), sizes: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 6 }), newEpoch: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

t.test('any sequence of appends, truncations, trims and reopenings reads as an array of records would', async (t) => {
  const root = await tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(opArb.chain((first) => fc.array(opArb, { maxLength: 25 }).map((rest) => [first, ...rest])), fc.integer({ min: 0, max: 5 }), async (ops, firstOffset) => {
      const dir = join(root, String(run++));
      let { log } = await SegmentLog.open(dir, { segmentBytes: 700 });
      // The model: every record still held, and the lowest offset a read may ask for (trims drop
      // whole segments only, so records below it may or may not still be there).
      let model: SegmentRecord[] = [];
      let floor = firstOffset;
      let epoch = 1;
      try {
        for (const op of ops) {
          const end = model.at(-1) ? model.at(-1)!.offset + 1 : floor;
          if (op.kind === 'append') {
            if (op.newEpoch) epoch++;
            const records = op.sizes.map((size, i) => record(end + i, epoch, size));
            await log.append(records);
            model.push(...records);
          } else if (op.kind === 'truncate') {
            const at = Math.max(floor, Math.floor(floor + op.at * (end - floor)));
            await log.truncateFrom(at);
            model = model.filter((r) => r.offset < at);
            if (model.length === 0) floor = Math.min(floor, at);
          } else if (op.kind === 'trim') {
            const at = Math.floor(floor + op.at * (end - floor));
            await log.deleteBefore(at);
            floor = Math.max(floor, at);
          } else {
            await log.close();
            ({ log } = await SegmentLog.open(dir, { segmentBytes: 700 }));
          }
          const expected = model.filter((r) => r.offset >= floor);
          const read = await log.read(floor, Infinity, 10_000);
          if (JSON.stringify(plain(read)) !== JSON.stringify(plain(expected))) {
            throw new Error(`after ${JSON.stringify(op)}: read ${JSON.stringify(read.map((r) => r.offset))}, expected ${JSON.stringify(expected.map((r) => r.offset))}`);
          }
          if (expected.length > 0 && log.end !== expected.at(-1)!.offset + 1) throw new Error(`end ${log.end}, expected ${expected.at(-1)!.offset + 1}`);
          // Reads bounded by bytes and count still start at `from` and give whole records.
          if (expected.length > 1) {
            const mid = expected[Math.floor(expected.length / 2)]!.offset;
            const some = await log.read(mid, 1, 2);
            if (some.length !== 1 || some[0]!.offset !== mid) throw new Error(`a read of 1 byte from ${mid} gave ${JSON.stringify(some.map((r) => r.offset))}`);
            const two = await log.read(floor, Infinity, 2);
            if (two.length !== 2 || two[0]!.offset !== floor) throw new Error(`a read of 2 records from ${floor} gave ${JSON.stringify(two.map((r) => r.offset))}`);
          }
        }
        const reopened = await SegmentLog.open(dir, { segmentBytes: 700 });
        const expected = model.filter((r) => r.offset >= floor);
        const starts = reopened.epochStarts.filter((e) => e.startOffset >= floor).map((e) => e.epoch);
        const epochsHeld = [...new Set(expected.map((r) => r.epoch))];
        if (JSON.stringify(starts) !== JSON.stringify(epochsHeld.slice(epochsHeld.length - starts.length))) {
          throw new Error(`epoch starts ${JSON.stringify(reopened.epochStarts)} for records of epochs ${JSON.stringify(epochsHeld)}`);
        }
        await reopened.log.close();
      } finally {
        await log.close();
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 100 },
  );
  t.pass('every read matched the model');
});

t.test('a torn append at the end of the last segment is cut off at open, and appends go on from there', async (t) => {
  const dir = await tempDir(t);
  const { log } = await SegmentLog.open(dir);
  await log.append([record(0, 1, 50), record(1, 1, 60)]);
  await log.close();
  const [name] = await readdir(dir);
  const path = join(dir, name!);
  const whole = (await readFile(path)).length;
  // What a crash mid-append can leave: a frame cut short, and zeros where the size grew first.
  await appendFile(path, Buffer.concat([Buffer.from([40, 0, 0, 0, 1, 2, 3]), Buffer.alloc(30)]));
  const reopened = await SegmentLog.open(dir);
  t.equal(reopened.log.end, 2, 'the whole records are kept');
  t.equal((await readFile(path)).length, whole, 'the torn bytes are cut off the file');
  await reopened.log.append([record(2, 2, 10)]);
  t.same((await reopened.log.read(0, Infinity, 10)).map((r) => [r.offset, r.epoch]), [[0, 1], [1, 1], [2, 2]]);
  await reopened.log.close();
});

t.test('a record whose bytes changed on disk ends the log there if it is in the last segment, and is refused before it', async (t) => {
  const dir = await tempDir(t);
  const { log } = await SegmentLog.open(dir, { segmentBytes: 100 });
  for (let offset = 0; offset < 4; offset++) await log.append([record(offset, 1, 90)]);
  await log.close();
  const names = (await readdir(dir)).sort();
  t.equal(names.length, 4, 'one segment per record at this segment size');
  const flip = async (name: string) => {
    const data = await readFile(join(dir, name));
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
    await writeFile(join(dir, name), data);
  };
  await flip(names[3]!);
  const opened = await SegmentLog.open(dir, { segmentBytes: 100 });
  t.equal(opened.log.end, 3, 'the damaged last record is not part of the log');
  await opened.log.close();
  await flip(names[1]!);
  await t.rejects(SegmentLog.open(dir, { segmentBytes: 100 }), StorageError, 'damage before the last segment is refused, not silently cut');
});

t.test('a segment that does not continue the one before it is dropped at open', async (t) => {
  const dir = await tempDir(t);
  const { log } = await SegmentLog.open(dir, { segmentBytes: 100 });
  for (let offset = 0; offset < 3; offset++) await log.append([record(offset, 1, 90)]);
  await log.close();
  const names = (await readdir(dir)).sort();
  await rm(join(dir, names[1]!));
  const opened = await SegmentLog.open(dir, { segmentBytes: 100 });
  t.equal(opened.log.end, 1, 'the log ends before the gap');
  t.same((await readdir(dir)).sort(), [names[0]], 'the segment past the gap is deleted');
  await opened.log.close();
});

t.test('records read from a segment that a trim deletes meanwhile read as gone', async (t) => {
  const dir = await tempDir(t);
  const { log } = await SegmentLog.open(dir, { segmentBytes: 100 });
  for (let offset = 0; offset < 3; offset++) await log.append([record(offset, 1, 90)]);
  await log.deleteBefore(2);
  t.same(await log.read(0, Infinity, 10), [], 'offsets of deleted segments read nothing');
  t.same((await log.read(2, Infinity, 10)).map((r) => r.offset), [2]);
  t.equal(log.start, 2);
  await log.deleteBefore(3);
  t.same((await log.read(2, Infinity, 10)).map((r) => r.offset), [2], 'the segment that holds the end is kept');
  await log.close();
});
