// Ports for child processes: distinct, free, and (where the kernel says which ports it gives to
// outgoing connections) outside that range, so no connection made meanwhile can take one.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import t from 'tap';
import { freePort, freePorts } from '@conveyor/cluster';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

t.test('ports are distinct, below the ephemeral range, and can be listened on', async (t) => {
  const ports = [...(await freePorts(40)), await freePort()];
  t.equal(new Set(ports).size, ports.length, 'no port is handed out twice');
  if (existsSync(RANGE_FILE)) {
    const low = Number(readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/)[0]);
    if (low > 11_000) t.ok(ports.every((p) => p >= 10_000 && p < low), `every port is below ${low}: ${ports.join(' ')}`);
  }
  for (const port of ports.slice(0, 5)) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  t.pass('the first five were listened on');
});
