/**
 * Ports for child processes to listen on. A port found free (by binding it and letting go) is
 * only promised, not held, until the child listens. Ports the kernel gives out for port 0 come
 * from its ephemeral range, from which it also picks the local port of every outgoing connection:
 * one made meanwhile, by any process, can take the promised port (EADDRINUSE in the child). So
 * ports come from below that range where there is room, picked at random (another launcher
 * picking the same one at the same moment is the only collision left), and never twice from one
 * process.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports this process handed out: a child may not listen on its port yet when the next one is asked for. */
const handedOut = new Set<number>();
const LOWEST = 10_000;
const ATTEMPTS = 50;

/** [low, high] of ports below the kernel's ephemeral range, or undefined where it is unknown or leaves no room. */
function portsBelowEphemeral(): [number, number] | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) && low - 1 - LOWEST >= 1_000 ? [LOWEST, low - 1] : undefined;
  } catch {
    return undefined;
  }
}

/** Binds `port` (0: any) on 127.0.0.1 and lets go; the port bound, or undefined if it was taken. */
function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** A port on 127.0.0.1 that was free a moment ago and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  const range = portsBelowEphemeral();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const wanted = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)) : 0;
    if (handedOut.has(wanted)) continue;
    const port = await tryPort(wanted);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${ATTEMPTS} attempts`);
}

/** `n` distinct ports, as freePort finds them. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
