/**
 * The launcher's control endpoint (127.0.0.1 only, its address in run.json), through which the
 * `conveyor` CLI asks the launcher — the owner of every process — to add clusters and nodes,
 * drain, remove and restart nodes. JSON in and out; errors are {error: {kind, message}} with
 * kind `usage` (400: a wrong name or value), `refused` (409: unsafe now) or `failed` (500).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { OperatorError, type BackendFleet } from './backend-fleet.ts';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 65_536) throw new OperatorError('usage', 'The request body is too large.');
  }
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new OperatorError('usage', 'The request body must be a JSON object.');
}

type Route = (match: RegExpExecArray, body: Record<string, unknown>) => Promise<unknown>;

function routes(fleet: BackendFleet): Array<[string, RegExp, Route]> {
  return [
    ['GET', /^\/v1\/topology$/, async () => ({ clusters: await fleet.topology() })],
    ['POST', /^\/v1\/clusters$/, (_m, body) => fleet.exclusive(async () => ({ cluster: await fleet.addCluster(Number(body.replicas ?? fleet.layout.replicas)) }))],
    ['POST', /^\/v1\/nodes$/, (_m, body) => fleet.exclusive(async () => ({ node: await fleet.addNode(String(body.cluster ?? '')) }))],
    ['POST', /^\/v1\/nodes\/([^/]+)\/drain$/, (m) => fleet.exclusive(() => fleet.drainNode(decodeURIComponent(m[1]!)))],
    ['POST', /^\/v1\/nodes\/([^/]+)\/restart$/, (m) => fleet.exclusive(() => fleet.restartNode(decodeURIComponent(m[1]!)))],
    ['DELETE', /^\/v1\/nodes\/([^/]+)$/, (m) => fleet.exclusive(async () => (await fleet.removeNode(decodeURIComponent(m[1]!)), {}))],
  ];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startControlServer(fleet: BackendFleet): Promise<ControlServer> {
  const table = routes(fleet);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const route = table.find(([method, pattern]) => method === req.method && pattern.test(path));
      if (!route) return send(res, 404, { error: { kind: 'usage', message: `No such control action: ${req.method} ${path}.` } });
      try {
        send(res, 200, await route[2](route[1].exec(path)!, await readJson(req)));
      } catch (error) {
        if (error instanceof OperatorError) send(res, error.kind === 'usage' ? 400 : 409, { error: { kind: error.kind, message: error.message } });
        else send(res, 500, { error: { kind: 'failed', message: (error as Error).message } });
      }
    })();
  });
  // Operator actions wait for catch-up and elections: no request timeout of the server's own.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
