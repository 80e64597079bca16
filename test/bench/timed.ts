/** Runs `concurrency` workers at once; prints and returns the messages per second they did together. */
export async function timed(label: string, concurrency: number, worker: () => Promise<number>): Promise<number> {
  const start = process.hrtime.bigint();
  const counts = await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const done = counts.reduce((a, b) => a + b, 0);
  const rate = Math.round(done / seconds);
  console.log(`${label}: ${done} messages in ${seconds.toFixed(2)} s = ${rate}/s`);
  return rate;
}

/** The `p`th percentile (0–100) of ascending `sorted` values, by the nearest rank below; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
