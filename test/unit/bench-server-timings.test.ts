/** The bench's per-phase server timings: metrics text parsed, differences reported as count × mean, servers that do not answer left out. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { addSeries, scrapeTotals, timingReport, type Totals } from '../bench/server-timings.ts';

const frontendText = (receiveSum: number, receiveCount: number, requestCount = 0): string =>
  [
    `conveyor_frontend_request_duration_seconds_sum{action="ReceiveMessage",protocol="native"} ${requestCount * 0.04}`,
    `conveyor_frontend_request_duration_seconds_count{action="ReceiveMessage",protocol="native"} ${requestCount}`,
    `conveyor_frontend_request_duration_seconds_sum{action="ReceiveMessage",protocol="json"} ${requestCount * 0.02}`,
    `conveyor_frontend_request_duration_seconds_count{action="ReceiveMessage",protocol="json"} ${requestCount}`,
    '# HELP conveyor_frontend_backend_request_duration_seconds Round trips',
    `conveyor_frontend_backend_request_duration_seconds_bucket{le="0.01",action="ReceiveMessage",outcome="ok"} 3`,
    `conveyor_frontend_backend_request_duration_seconds_sum{action="ReceiveMessage",outcome="ok"} ${receiveSum}`,
    `conveyor_frontend_backend_request_duration_seconds_count{action="ReceiveMessage",outcome="ok"} ${receiveCount}`,
    `conveyor_frontend_backend_request_duration_seconds_sum{action="ReceiveMessage",outcome="error"} 9`,
    `conveyor_frontend_backend_request_duration_seconds_count{action="ReceiveMessage",outcome="error"} 3`,
    'conveyor_frontend_requests_total{action="ReceiveMessage"} 12',
  ].join('\n');

const nodeText = (commitSum: number, commitCount: number, syncedSum: number, syncedCount: number, gcCount = 0): string =>
  [
    `nodejs_gc_duration_seconds_sum{kind="minor"} ${gcCount * 0.002}`,
    `nodejs_gc_duration_seconds_count{kind="minor"} ${gcCount}`,
    `nodejs_gc_duration_seconds_sum{kind="major"} ${gcCount * 0.001}`,
    `nodejs_gc_duration_seconds_count{kind="major"} ${gcCount}`,
    `conveyor_node_commit_duration_seconds_sum ${commitSum}`,
    `conveyor_node_commit_duration_seconds_count ${commitCount}`,
    `conveyor_node_storage_write_duration_seconds_sum{synced="true"} ${syncedSum}`,
    `conveyor_node_storage_write_duration_seconds_count{synced="true"} ${syncedCount}`,
    `conveyor_node_storage_write_duration_seconds_sum{synced="false"} 5`,
    `conveyor_node_storage_write_duration_seconds_count{synced="false"} 50`,
  ].join('\n');

t.test('a phase is reported as calls × mean time, from the differences of two scrapes', async (t) => {
  const before: Totals = new Map();
  addSeries(before, 'frontend-1', frontendText(1, 100, 10));
  addSeries(before, 'n1', nodeText(2, 200, 1, 100));
  addSeries(before, 'n2', nodeText(0, 0, 1, 100));
  const after: Totals = new Map();
  addSeries(after, 'frontend-1', frontendText(3.5, 200, 30)); // 100 more, 2.5 s: 25 ms each; 20 + 20 requests of 40 and 20 ms
  addSeries(after, 'n1', nodeText(2.8, 300, 1.2, 200, 50)); // commits 100 × 8 ms; synced 100 × 2 ms; 50 + 50 pauses of 2 and 1 ms
  addSeries(after, 'n2', nodeText(0, 0, 1.15, 150)); // no commits (a follower); synced 50 × 3 ms
  const report = timingReport(before, after);
  t.equal(report, 'client→frontend ReceiveMessage 40 × 30.0 ms; frontend→node ReceiveMessage 100 × 25.0 ms; commits n1 100 × 8.0 ms; synced writes n1 100 × 2.0 ms, n2 50 × 3.0 ms; GC pauses n1 100 × 1.5 ms');
  t.notMatch(report, /error|synced="false"/, 'failed calls and unsynced writes are not counted');
  t.equal(timingReport(after, after), '', 'nothing moved, nothing said');
});

t.test('scrapes each server over HTTP and leaves out one that does not answer', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') res.end(nodeText(4, 40, 1, 10));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => dead.close(() => resolve())); // nothing listens there now
  const totals = await scrapeTotals({ frontends: [deadUrl], nodes: [{ id: 'n1', url }] });
  t.same(totals.get('n1 conveyor_node_commit_duration_seconds'), { sum: 4, count: 40 });
  t.same(totals.get('n1 conveyor_node_storage_write_duration_seconds{synced="true"}'), { sum: 1, count: 10 });
  t.notOk([...totals.keys()].some((k) => k.startsWith('frontend-1')), 'the dead frontend is left out');
});
