/**
 * What the consumer handles must die young. The probe runs a consumer over an in-memory transport
 * under V8's --trace-gc-nvp; this sums the bytes its young collections promoted. When the running
 * handlers were kept in a Set, the tables the Set left behind as it was rebuilt kept nearly every
 * message (body and all) alive through young collections: ~60 MB promoted for 50,000 messages of
 * 1 KiB, against ~12 MB now.
 */
import { spawn } from 'node:child_process';
import t from 'tap';

const PROBE = new URL('../support/consumer-gc-probe.ts', import.meta.url).pathname;
const MESSAGES = 50_000;

async function promotedBytes(): Promise<{ promoted: number; scavenges: number; handled: number }> {
  const child = spawn(process.execPath, ['--trace-gc-nvp', '--import', 'tsx', PROBE, String(MESSAGES), '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`probe exited with ${code}: ${err}`);
  let promoted = 0;
  let scavenges = 0;
  for (const line of out.split('\n')) {
    if (!/ gc=s /.test(line)) continue;
    scavenges += 1;
    promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { promoted, scavenges, handled: Number(/handled (\d+)/.exec(err)?.[1] ?? -1) };
}

t.test('a consumer under load promotes little of what it handles', async (t) => {
  const { promoted, scavenges, handled } = await promotedBytes();
  t.equal(handled, MESSAGES, 'every message was handled');
  t.ok(scavenges > 5, `young collections ran (${scavenges})`);
  t.ok(promoted < 30 * 1024 * 1024, `${(promoted / 1048576).toFixed(1)} MB promoted for ${MESSAGES} messages of 1 KiB (at most 30 MB)`);
});
