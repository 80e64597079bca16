import { MemoryQueueStore, QueueEngine, type EngineOptions } from '@conveyor/backend-node';
import { FakeClock, seededRandom, sequentialIds } from './fake-clock.ts';

export interface TestEngine {
  engine: QueueEngine;
  clock: FakeClock;
  store: MemoryQueueStore;
}

/** An engine over the in-memory store with a fake clock and deterministic randomness. */
export async function openTestEngine(options: Partial<EngineOptions> & { seed?: number } = {}): Promise<TestEngine> {
  const clock = new FakeClock();
  const store = new MemoryQueueStore();
  const engine = await QueueEngine.open({
    store,
    clock: clock.now,
    random: seededRandom(options.seed ?? 1),
    newMessageId: sequentialIds(),
    expireIntervalMs: 0,
    ...options,
  });
  return { engine, clock, store };
}

/** openTestEngine, closed when the test ends. */
export async function openEngineFor(t: { teardown(fn: () => unknown): void }, options: Partial<EngineOptions> & { seed?: number } = {}): Promise<TestEngine> {
  const opened = await openTestEngine(options);
  t.teardown(() => opened.engine.close());
  return opened;
}
