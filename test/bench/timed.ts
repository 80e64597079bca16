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
