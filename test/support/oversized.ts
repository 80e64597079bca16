/**
 * A request that announces a body far beyond any legal one and sends only its first bytes. A
 * server refuses such a request as soon as it reads the Content-Length, and closes the connection;
 * a client still writing the whole body would see EPIPE or a reset instead of the answer, at random.
 * This one reads the answer whatever happens to its writes, and fails if none comes in 10 s.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function postOversized(endpoint: string, path: string, headers: Record<string, string>, declaredBytes: number, firstBytes = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(endpoint);
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer to an oversized body within 10 s')), 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // A reset after the answer is fine; no answer at all fails below.
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer to an oversized body: ${JSON.stringify(text.slice(0, 200))}`));
      const head = text.slice(0, split).split('\r\n');
      const parsed = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(head[0]!.split(' ')[1]), headers: parsed, body: text.slice(split + 4) });
    });
    const lines = Object.entries({ ...headers, Host: hostname, 'Content-Length': String(declaredBytes), Connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n${firstBytes}`);
  });
}
