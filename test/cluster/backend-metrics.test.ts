/**
 * A backend node's `GET /metrics`: commit and storage write latencies, replication positions and
 * follower lag in Prometheus text, from a real three-node cluster.
 */
import { request } from 'undici';
import t, { type Test } from 'tap';
import { NativeClient, startCluster } from '../support/index.ts';

async function scrape(t: Test, url: string): Promise<{ contentType: string; text: string }> {
  const res = await request(`${url}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  t.equal(res.statusCode, 200, `${url}/metrics answers`);
  return { contentType: String(res.headers['content-type']), text: await res.body.text() };
}

/** The value of one sample line, e.g. `name{label="x"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('nodes report commit and write latencies, positions and follower lag', async (t) => {
  const cluster = await startCluster({ nodes: 3 });
  t.teardown(() => cluster.close());
  const { id: leader } = await cluster.waitForLeader();
  await cluster.waitFor(async () => ((await cluster.status(leader)).isr.length === 3 ? true : undefined), 15_000, 'every node in the ISR');
  const client = new NativeClient({ nodes: cluster.nodes.map((n) => n.url), deadlineMs: 30_000, requestTimeoutMs: 5_000 });
  t.teardown(() => client.close());

  const before = await scrape(t, cluster.node(leader).url);
  const commitsBefore = sample(before.text, 'conveyor_node_commit_duration_seconds_count') ?? 0;
  await client.call('CreateQueue', { queue: 'metrics' });
  for (let i = 0; i < 5; i++) await client.call('SendMessageBatch', { queue: 'metrics', entries: [{ id: '0', body: `m${i}` }] });

  const { contentType, text } = await scrape(t, cluster.node(leader).url);
  t.match(contentType, /^text\/plain/, 'Prometheus text');
  t.equal(sample(text, 'conveyor_node_leader'), 1, 'the leader says it leads');
  t.equal(sample(text, 'conveyor_node_isr_members'), 3, 'with three in-sync members');
  const commits = sample(text, 'conveyor_node_commit_duration_seconds_count') ?? 0;
  t.ok(commits - commitsBefore >= 6, `each write counted as it committed (${commits - commitsBefore} new)`);
  const commitSum = sample(text, 'conveyor_node_commit_duration_seconds_sum') ?? -1;
  t.ok(commitSum > 0 && commitSum < commits * 5, 'with durations that are plausible seconds');
  t.ok((sample(text, 'conveyor_node_storage_write_duration_seconds_count{synced="true"}') ?? 0) > 0, 'synced writes of log records are timed');
  const status = await cluster.status(leader);
  const logEnd = sample(text, 'conveyor_node_log_position{position="log_end"}') ?? -1;
  const hw = sample(text, 'conveyor_node_log_position{position="high_watermark"}') ?? -1;
  t.ok(logEnd >= hw && hw > 0 && logEnd <= status.logEnd, `positions: high watermark ${hw} ≤ log end ${logEnd}`);
  t.equal(sample(text, 'conveyor_node_epoch'), status.epoch, 'the epoch');
  for (const follower of cluster.nodes.filter((n) => n.id !== leader)) {
    const lag = sample(text, `conveyor_node_follower_lag_records{follower="${follower.id}",in_sync="true"}`);
    t.ok(lag !== undefined && lag >= 0, `follower ${follower.id} has a lag series (${lag})`);
  }
  t.match(text, /nodejs_eventloop_lag_seconds/, 'and the process metrics');

  const follower = cluster.nodes.find((n) => n.id !== leader)!;
  const fromFollower = (await scrape(t, follower.url)).text;
  t.equal(sample(fromFollower, 'conveyor_node_leader'), 0, 'a follower says it does not lead');
  t.equal(sample(fromFollower, 'conveyor_node_commit_duration_seconds_count'), 0, 'and commits nothing itself');
  t.ok((sample(fromFollower, 'conveyor_node_storage_write_duration_seconds_count{synced="true"}') ?? 0) > 0, 'but persists the records it fetched');
  t.notMatch(fromFollower, /conveyor_node_follower_lag_records\{/, 'and has no followers');
});
