/**
 * The metadata service against a real ZooKeeper and two real backend clusters (2 nodes each,
 * min in-sync 1), through its HTTP API: the registry (create, get, list, attributes, tags, delete,
 * dead-letter sources, bad names that must never become paths outside the root), queues created
 * and dropped on their backend cluster, placement over the two clusters, the cluster view, two
 * service instances kept in agreement by watches, and ZooKeeper pausing long enough to expire
 * every session. The subtests share one environment and run in order: placement first, while the
 * registry is empty and no cluster holds messages; ZooKeeper trouble last.
 */
import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { zk } from '@conveyor/backend-node';
import {
  NativeClient,
  pollUntil,
  rejection,
  startCluster,
  startMetadataService,
  startZooKeeper,
  type MetadataAnswer,
  type MetadataErrorBody,
  type MetadataServiceProcess,
  type TestCluster,
} from '../support/index.ts';

const ROOT = '/conveyor-md-test';
const SESSION_TIMEOUT_MS = 2_000;
const WATCH_TIMEOUT_MS = 5_000;
/** Queues belong to accounts: registry keys and backend queue names are `<account>:<name>`. */
const id = (name: string): string => `000000000000:${name}`;

/** The queue record as the API answers it (the fields these tests read). */
interface QueueBody {
  queue: {
    name: string;
    arn: string;
    clusterId: string;
    owner: string;
    config: { fifo: boolean; visibilityTimeoutMs: number; delayMs: number; redrive?: { deadLetterQueue: string } };
    tags: Record<string, string>;
    createdAt: number;
  };
  version: number;
  stale: boolean;
  created?: boolean;
}
interface ListBody {
  names: string[];
  nextToken?: string;
  stale?: boolean;
}
interface ClusterViewBody {
  clusters: Array<{
    id: string;
    epoch: number | null;
    leader: string | null;
    isr: string[];
    nodes: Array<{ id: string; address: string; live: boolean; inSync?: boolean }>;
    queues: Record<string, { visible: number; inflight: number; delayed: number }>;
    reachable: boolean;
  }>;
  stale: boolean;
}

// ------------------------------------------------------------------------------------ environment

const zookeeper = await startZooKeeper();
t.teardown(() => zookeeper.stop());
const clusters = new Map<string, TestCluster>();
const backends = new Map<string, NativeClient>();
t.teardown(async () => {
  for (const client of backends.values()) await client.close();
  await Promise.allSettled([...clusters.values()].map((c) => c.close()));
});
for (const cluster of await Promise.all(['ca', 'cb'].map((clusterId) => startCluster({ zookeeper, clusterId, zkRoot: ROOT, nodes: 2, minInSync: 1, sessionTimeoutMs: SESSION_TIMEOUT_MS })))) {
  clusters.set(cluster.clusterId, cluster);
  backends.set(cluster.clusterId, new NativeClient({ nodes: cluster.nodes.map((n) => n.url), deadlineMs: 10_000, requestTimeoutMs: 3_000 }));
}
await Promise.all([...clusters.values()].map((c) => c.waitForLeader()));
const services: MetadataServiceProcess[] = [];
t.teardown(() => Promise.allSettled(services.map((s) => s.stop())));
for (let i = 0; i < 2; i++) services.push(await startMetadataService({ zookeeper, zkRoot: ROOT, sessionTimeoutMs: SESSION_TIMEOUT_MS }));
const [serviceA, serviceB] = services as [MetadataServiceProcess, MetadataServiceProcess];
// A plain ZooKeeper client of the test's own, to look at the tree behind the service's back.
const inspector = zk.createZkClient(zookeeper.connectString, 10_000);
t.teardown(() => inspector.close());
await zk.zkConnect(inspector, 10_000);

function backend(clusterId: string): NativeClient {
  const client = backends.get(clusterId);
  if (!client) throw new Error(`no backend cluster ${clusterId}`);
  return client;
}

function cluster(clusterId: string): TestCluster {
  const found = clusters.get(clusterId);
  if (!found) throw new Error(`no backend cluster ${clusterId}`);
  return found;
}

const path = (name: string, suffix = ''): string => `/v1/queues/${encodeURIComponent(name)}${suffix}`;

async function create(service: MetadataServiceProcess, name: string, attributes: Record<string, string> = {}, tags?: Record<string, string>): Promise<QueueBody> {
  const res = await service.call<QueueBody>('POST', '/v1/queues', { name, attributes, tags });
  if (res.status !== 200) throw new Error(`creating ${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Asserts an error answer's status and code; returns its message. */
function failed(t: Test, res: MetadataAnswer<unknown>, status: number, code: string, what: string): string {
  const error = (res.body as Partial<MetadataErrorBody>).error;
  t.same({ status: res.status, code: error?.code }, { status, code }, what);
  return error?.message ?? '';
}

/** Every name of a listing, page by page; throws if a page repeats or it does not end. */
async function listAll(service: MetadataServiceProcess, prefix: string, maxResults: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let token: string | undefined;
  for (let pages = 1; pages <= 100; pages++) {
    const query = new URLSearchParams({ prefix, maxResults: String(maxResults), ...(token ? { nextToken: token } : {}) });
    const res = await service.call<ListBody>('GET', `/v1/queues?${query}`);
    if (res.status !== 200) throw new Error(`listing answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (res.body.names.length > maxResults) throw new Error(`a page of ${res.body.names.length} names for maxResults ${maxResults}`);
    names.push(...res.body.names);
    token = res.body.nextToken;
    if (!token) return { names, pages };
  }
  throw new Error('the listing did not end within 100 pages');
}

/** Every znode path under `from`, depth first. */
async function zkTree(from: string): Promise<string[]> {
  const children = await zk.withTimeout(zk.zkChildren(inspector, from), 5_000, `list ${from}`);
  const out: string[] = [];
  for (const child of children.sort()) {
    const full = from === '/' ? `/${child}` : `${from}/${child}`;
    out.push(full, ...(await zkTree(full)));
  }
  return out;
}

async function sendBodies(clusterId: string, queue: string, bodies: string[]): Promise<void> {
  const res = await backend(clusterId).call('SendMessageBatch', { queue: id(queue), entries: bodies.map((body, i) => ({ id: `m${i}`, body })) });
  if (res.failed.length > 0) throw new Error(`send to ${queue} failed: ${JSON.stringify(res.failed)}`);
}

// ------------------------------------------------------------------------------------ placement

t.test('placement: new queues go to the least-loaded cluster; a queue with a RedrivePolicy goes to its DLQ’s cluster', async (t) => {
  const counts = new Map([
    ['ca', 0],
    ['cb', 0],
  ]);
  t.same((await serviceA.call<ListBody>('GET', '/v1/queues')).body.names, [], 'the registry starts empty');
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    // The rule with no backlog anywhere: fewest queues, ties to the first id.
    const expected = [...counts].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1))[0]![0];
    const { queue } = await create(serviceA, `place-${i}`);
    placed.push(queue.clusterId);
    t.equal(queue.clusterId, expected, `place-${i} lands on ${expected}, the least-loaded cluster`);
    counts.set(queue.clusterId, (counts.get(queue.clusterId) ?? 0) + 1);
  }
  t.same([...counts.values()], [3, 3], `six queues spread evenly over both clusters (${placed.join(',')})`);

  const dlq = await create(serviceA, 'place-dlq');
  t.equal(dlq.queue.clusterId, 'ca', 'the DLQ goes to ca (a tie, broken by id)');
  // Now ca holds 4 queues and cb 3: the least-loaded rule alone would pick cb.
  const source = await create(serviceA, 'place-source', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queue.arn, maxReceiveCount: 3 }) });
  t.equal(source.queue.clusterId, 'ca', 'the source queue goes to its DLQ’s cluster, not the less-loaded cb');
  const plain = await create(serviceA, 'place-after');
  t.equal(plain.queue.clusterId, 'cb', 'while a queue without a DLQ still goes to the less-loaded cb');

  t.equal((await backend('ca').call('GetQueue', { queue: id('place-source') })).name, id('place-source'), 'the source queue exists on ca (by queue id)');
  t.equal((await rejection(backend('cb').call('GetQueue', { queue: id('place-source') }))).code, 'QueueDoesNotExist', 'and not on cb');

  // A DLQ on another cluster cannot be attached later either: redrive moves messages inside one cluster.
  const res = await serviceA.call('PATCH', path('place-after', '/attributes'), { attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queue.arn, maxReceiveCount: 3 }) } });
  t.match(failed(t, res, 400, 'InvalidAttributeValue', 'a RedrivePolicy to a DLQ on the other cluster is refused'), /RedrivePolicy/);
});

// ------------------------------------------------------------------------------------ registry

t.test('create, get, attributes, tags and delete through the HTTP API', async (t) => {
  const first = await serviceA.call<QueueBody>('POST', '/v1/queues', { name: 'reg-a', attributes: { VisibilityTimeout: '45' }, tags: { team: 'x' } });
  t.equal(first.status, 200, 'create answers 200');
  t.equal(first.body.created, true, 'created: true');
  t.equal(first.body.version, 0, 'a new record has version 0');
  t.equal(first.body.queue.arn, 'arn:aws:sqs:local:000000000000:reg-a', 'with its ARN');
  t.equal(first.body.queue.config.visibilityTimeoutMs, 45_000, 'and its attributes');

  const again = await serviceA.call<QueueBody>('POST', '/v1/queues', { name: 'reg-a', attributes: { VisibilityTimeout: '45' } });
  t.same([again.status, again.body.created, again.body.version, again.body.queue.createdAt], [200, false, 0, first.body.queue.createdAt], 'creating again with equal attributes answers the same queue, created: false');
  const conflict = await serviceA.call('POST', '/v1/queues', { name: 'reg-a', attributes: { VisibilityTimeout: '46' } });
  t.match(failed(t, conflict, 400, 'QueueNameExists', 'different attributes are refused'), /VisibilityTimeout/, 'naming the attribute');

  const got = await serviceA.call<QueueBody>('GET', path('reg-a'));
  t.same([got.status, got.body.version, got.body.stale, got.body.queue.tags], [200, 0, false, { team: 'x' }], 'get answers the record, its version, not stale');
  const attrs = await serviceA.call<{ attributes: Record<string, string> }>('GET', path('reg-a', '/attributes'));
  t.match(attrs.body.attributes, { VisibilityTimeout: '45', QueueArn: first.body.queue.arn, ApproximateNumberOfMessages: '0' }, 'GET attributes answers SQS attributes');

  const set = await serviceA.call<QueueBody>('PATCH', path('reg-a', '/attributes'), { attributes: { VisibilityTimeout: '60', DelaySeconds: '2' } });
  t.equal(set.status, 200, 'set attributes answers 200');
  t.ok(set.body.version > got.body.version, `the version increases (${got.body.version} → ${set.body.version})`);
  const afterSet = await serviceA.call<QueueBody>('GET', path('reg-a'));
  t.same([afterSet.body.version, afterSet.body.queue.config.visibilityTimeoutMs, afterSet.body.queue.config.delayMs], [set.body.version, 60_000, 2_000], 'get then shows the new attributes and version');
  const backendInfo = await backend(afterSet.body.queue.clusterId).call('GetQueue', { queue: id('reg-a') });
  t.match(backendInfo.attributes, { VisibilityTimeout: '60', DelaySeconds: '2' }, 'the backend has them too');
  failed(t, await serviceA.call('PATCH', path('reg-a', '/attributes'), { attributes: { FifoQueue: 'true' } }), 400, 'InvalidAttributeValue', 'changing FifoQueue is refused');
  failed(t, await serviceA.call('PATCH', path('reg-a', '/attributes'), { attributes: { Colour: 'blue' } }), 400, 'InvalidAttributeName', 'an unknown attribute is refused');
  failed(t, await serviceA.call('PATCH', path('reg-missing', '/attributes'), { attributes: { DelaySeconds: '1' } }), 400, 'QueueDoesNotExist', 'a missing queue');
  t.equal((await serviceA.call<QueueBody>('GET', path('reg-a'))).body.version, set.body.version, 'refused changes leave the version alone');

  const tagged = await serviceA.call<QueueBody>('POST', path('reg-a', '/tags'), { tags: { team: 'y', env: 'prod' } });
  t.ok(tagged.status === 200 && tagged.body.version > set.body.version, 'tagging answers 200 with a higher version');
  t.same((await serviceA.call<{ tags: Record<string, string> }>('GET', path('reg-a', '/tags'))).body.tags, { team: 'y', env: 'prod' }, 'tags are merged, values replaced');
  const untagged = await serviceA.call<QueueBody>('DELETE', path('reg-a', '/tags'), { keys: ['team', 'nope'] });
  t.ok(untagged.status === 200 && untagged.body.version > tagged.body.version, 'untagging answers 200 with a higher version');
  t.same((await serviceA.call<{ tags: Record<string, string> }>('GET', path('reg-a', '/tags'))).body.tags, { env: 'prod' }, 'untagging removes the named keys only');
  failed(t, await serviceA.call('POST', path('reg-a', '/tags'), { tags: { ['k'.repeat(129)]: 'v' } }), 400, 'InvalidParameterValue', 'a 129-character tag key is refused');

  const deleted = await serviceA.call('DELETE', path('reg-a'));
  t.same([deleted.status, deleted.body], [200, {}], 'delete answers 200 {}');
  failed(t, await serviceA.call('GET', path('reg-a')), 400, 'QueueDoesNotExist', 'get after delete');
  failed(t, await serviceA.call('DELETE', path('reg-a')), 400, 'QueueDoesNotExist', 'deleting again');
  t.notOk((await serviceA.call<ListBody>('GET', '/v1/queues?prefix=reg-')).body.names.includes('reg-a'), 'it is gone from the list');
  const recreated = await serviceA.call<QueueBody>('POST', '/v1/queues', { name: 'reg-a', attributes: { VisibilityTimeout: '10' } });
  t.same([recreated.status, recreated.body.created, recreated.body.version, recreated.body.queue.config.visibilityTimeoutMs], [200, true, 0, 10_000], 'the name can be created again at once, with other attributes');
});

t.test('list with a prefix pages through every queue exactly once', async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
  for (const name of names) await create(serviceA, name);
  await create(serviceA, 'pagex');
  await create(serviceA, 'apage-00');

  const all = await serviceA.call<ListBody>('GET', '/v1/queues?prefix=page-');
  t.same(all.body.names, names, 'without maxResults: every match, sorted, nothing else');
  t.equal(all.body.nextToken, undefined, 'and no token');
  for (const size of [1, 5, 12]) {
    const { names: paged, pages } = await listAll(serviceA, 'page-', size);
    t.same(paged, names, `maxResults ${size}: every name exactly once, in order`);
    t.equal(pages, Math.ceil(names.length / size), `in ${Math.ceil(names.length / size)} pages`);
  }
  t.same((await serviceA.call<ListBody>('GET', '/v1/queues?prefix=page-99')).body.names, [], 'a prefix nothing has');
  failed(t, await serviceA.call('GET', '/v1/queues?maxResults=0'), 400, 'InvalidParameterValue', 'maxResults 0');
  failed(t, await serviceA.call('GET', '/v1/queues?maxResults=1001'), 400, 'InvalidParameterValue', 'maxResults 1001');
  failed(t, await serviceA.call('GET', '/v1/queues?maxResults=abc'), 400, 'InvalidParameterValue', 'maxResults that is not a number');
});

t.test('dead-letter sources, and RedrivePolicy checks', async (t) => {
  const dlq = await create(serviceA, 'dl-target');
  const policy = (arn: string): string => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 });
  await create(serviceA, 'dl-src-2', { RedrivePolicy: policy(dlq.queue.arn) });
  await create(serviceA, 'dl-src-1', { RedrivePolicy: policy(dlq.queue.arn) });
  await create(serviceA, 'dl-unrelated');

  const sources = await serviceA.call<ListBody>('GET', path('dl-target', '/dead-letter-sources'));
  t.same([sources.status, sources.body.names], [200, [id('dl-src-1'), id('dl-src-2')]], 'both sources are listed by queue id, sorted');
  const page1 = await serviceA.call<ListBody>('GET', path('dl-target', '/dead-letter-sources?maxResults=1'));
  t.same(page1.body.names, [id('dl-src-1')], 'a first page of one');
  t.ok(page1.body.nextToken, 'with a token');
  const page2 = await serviceA.call<ListBody>('GET', path('dl-target', `/dead-letter-sources?maxResults=1&nextToken=${page1.body.nextToken}`));
  t.same([page2.body.names, page2.body.nextToken], [[id('dl-src-2')], undefined], 'then the second, and no token');
  t.same((await serviceA.call<ListBody>('GET', path('dl-unrelated', '/dead-letter-sources'))).body.names, [], 'a queue nobody redrives to has none');
  failed(t, await serviceA.call('GET', path('dl-nothing', '/dead-letter-sources')), 400, 'QueueDoesNotExist', 'a missing queue');

  const missingArn = 'arn:aws:sqs:local:000000000000:dl-nowhere';
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'dl-orphan', attributes: { RedrivePolicy: policy(missingArn) } }), 400, 'InvalidAttributeValue', 'a RedrivePolicy to a missing DLQ is refused');
  failed(t, await serviceA.call('GET', path('dl-orphan')), 400, 'QueueDoesNotExist', 'and nothing was created');
  failed(t, await serviceA.call('PATCH', path('dl-unrelated', '/attributes'), { attributes: { RedrivePolicy: policy(missingArn) } }), 400, 'InvalidAttributeValue', 'nor can it be set later');

  const fifoDlq = await create(serviceA, 'dl-target.fifo', { FifoQueue: 'true' });
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'dl-fifo-src.fifo', attributes: { FifoQueue: 'true', RedrivePolicy: policy(dlq.queue.arn) } }), 400, 'InvalidAttributeValue', 'a FIFO queue with a standard DLQ');
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'dl-std-src', attributes: { RedrivePolicy: policy(fifoDlq.queue.arn) } }), 400, 'InvalidAttributeValue', 'a standard queue with a FIFO DLQ');
  const fifoSource = await create(serviceA, 'dl-fifo-src.fifo', { FifoQueue: 'true', RedrivePolicy: policy(fifoDlq.queue.arn) });
  t.equal(fifoSource.queue.config.redrive?.deadLetterQueue, id('dl-target.fifo'), 'a FIFO queue with a FIFO DLQ is fine');
  t.same((await serviceA.call<ListBody>('GET', path('dl-target.fifo', '/dead-letter-sources'))).body.names, [id('dl-fifo-src.fifo')], 'and is listed as its source');
});

t.test('bad names are refused with SQS codes and never become paths outside the root', async (t) => {
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'n'.repeat(81) }), 400, 'InvalidParameterValue', '81 characters');
  t.equal((await create(serviceA, 'n'.repeat(80))).queue.name.length, 80, '80 characters are fine');
  for (const name of ['bad name', 'bad!', 'ünïcode', 'a.b', '../x', '../../escape', '..', 'a/b', '/abs']) {
    failed(t, await serviceA.call('POST', '/v1/queues', { name }), 400, 'InvalidParameterValue', `create ${JSON.stringify(name)}`);
  }
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'x.fifo' }), 400, 'InvalidAttributeValue', '.fifo without FifoQueue');
  failed(t, await serviceA.call('POST', '/v1/queues', { name: 'plain', attributes: { FifoQueue: 'true' } }), 400, 'InvalidAttributeValue', 'FifoQueue without .fifo');
  failed(t, await serviceA.call('POST', '/v1/queues', {}), 400, 'MissingParameter', 'no name');
  failed(t, await serviceA.call('POST', '/v1/queues', { name: '' }), 400, 'MissingParameter', 'an empty name');

  // Names that are not queue names cannot name a queue in the other calls either. (A bare '..'
  // cannot be sent: URL parsing resolves it, %2E%2E included, before the request leaves.)
  for (const name of ['../x', '../../escape', '../..', 'a/b', 'x/']) {
    failed(t, await serviceA.call('GET', path(name)), 400, 'QueueDoesNotExist', `get ${JSON.stringify(name)}`);
    failed(t, await serviceA.call('PATCH', path(name, '/attributes'), { attributes: { DelaySeconds: '1' } }), 400, 'QueueDoesNotExist', `set attributes of ${JSON.stringify(name)}`);
    failed(t, await serviceA.call('POST', path(name, '/tags'), { tags: { a: 'b' } }), 400, 'QueueDoesNotExist', `tag ${JSON.stringify(name)}`);
    failed(t, await serviceA.call('DELETE', path(name)), 400, 'QueueDoesNotExist', `delete ${JSON.stringify(name)}`);
  }

  const tree = await zkTree('/');
  const outside = tree.filter((p) => p !== ROOT && !p.startsWith(`${ROOT}/`) && p !== '/zookeeper' && !p.startsWith('/zookeeper/'));
  t.same(outside, [], `nothing in ZooKeeper outside ${ROOT} (and /zookeeper)`);
  const top = tree.filter((p) => p.startsWith(`${ROOT}/`) && p.split('/').length === 3);
  t.same(top, [`${ROOT}/clusters`, `${ROOT}/deleted`, `${ROOT}/queues`], 'the root holds only clusters, deleted and queues');
  const queueNodes = tree.filter((p) => p.startsWith(`${ROOT}/queues/`));
  t.notOk(queueNodes.some((p) => p.split('/').length !== 4), 'every queue is one znode directly under queues/');
  t.notOk(queueNodes.some((p) => /\/(x|escape|a|abs)$/.test(p)), 'and none of the refused names is among them');
});

// ------------------------------------------------------------------------------------ backends

t.test('a created queue exists on its backend cluster and a deleted one is dropped there', async (t) => {
  const { queue } = await create(serviceA, 'be-orders', { VisibilityTimeout: '20' });
  const other = queue.clusterId === 'ca' ? 'cb' : 'ca';
  const client = backend(queue.clusterId);
  const info = await client.call('GetQueue', { queue: id('be-orders') });
  t.same([info.arn, info.attributes.VisibilityTimeout], [queue.arn, '20'], `the backend cluster ${queue.clusterId} has it, with its ARN and attributes`);
  t.equal((await rejection(backend(other).call('GetQueue', { queue: id('be-orders') }))).code, 'QueueDoesNotExist', `the other cluster ${other} does not`);

  await sendBodies(queue.clusterId, 'be-orders', ['one', 'two', 'three']);
  const attrs = await pollUntil(
    async () => {
      const res = await serviceA.call<{ attributes: Record<string, string> }>('GET', path('be-orders', '/attributes'));
      return res.body.attributes.ApproximateNumberOfMessages === '3' ? res.body.attributes : undefined;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: 'GET attributes to count 3 messages' },
  );
  t.equal(attrs.ApproximateNumberOfMessages, '3', 'GET attributes counts the messages on the backend');
  const received: string[] = [];
  await pollUntil(
    async () => {
      const { messages } = await client.call('ReceiveMessage', { queue: id('be-orders'), maxMessages: 10, waitTimeSeconds: 1 });
      received.push(...messages.map((m) => m.body));
      if (messages.length > 0) await client.call('DeleteMessageBatch', { queue: id('be-orders'), entries: messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
      return received.length >= 3;
    },
    { timeoutMs: 10_000, what: 'three messages to be received' },
  );
  t.same(received.sort(), ['one', 'three', 'two'], 'the messages sent are received from it');

  const deleted = await serviceA.call('DELETE', path('be-orders'));
  t.equal(deleted.status, 200, 'delete through the metadata service');
  t.equal((await rejection(client.call('GetQueue', { queue: id('be-orders') }))).code, 'QueueDoesNotExist', 'the backend no longer has the queue');
  t.equal((await rejection(sendBodies(queue.clusterId, 'be-orders', ['late']))).code, 'QueueDoesNotExist', 'and refuses sends to it');
});

t.test('GET /v1/clusters shows both clusters, their nodes, leader, epoch, ISR and per-queue counts', async (t) => {
  // Pinned through their DLQs (from the placement test): place-dlq is on ca, place-after on cb.
  const redriveTo = async (dlq: string): Promise<Record<string, string>> => ({
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: (await serviceA.call<QueueBody>('GET', path(dlq))).body.queue.arn, maxReceiveCount: 10 }),
  });
  const onA = await create(serviceA, 'view-a', await redriveTo('place-dlq'));
  const onB = await create(serviceA, 'view-b', await redriveTo('place-after'));
  t.same([onA.queue.clusterId, onB.queue.clusterId], ['ca', 'cb'], 'one queue on each cluster');
  await sendBodies(onA.queue.clusterId, 'view-a', ['a1', 'a2', 'a3', 'a4']);
  await sendBodies(onB.queue.clusterId, 'view-b', ['b1', 'b2']);
  const expectedCounts = new Map([
    [onA.queue.clusterId, { queue: id('view-a'), visible: 4 }],
    [onB.queue.clusterId, { queue: id('view-b'), visible: 2 }],
  ]);

  let view: ClusterViewBody | undefined;
  await pollUntil(
    async () => {
      const res = await serviceA.call<ClusterViewBody>('GET', '/v1/clusters');
      view = res.body;
      return res.status === 200 && view.clusters.every((c) => c.queues[expectedCounts.get(c.id)?.queue ?? '']?.visible === expectedCounts.get(c.id)?.visible);
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: 'the cluster view to count the messages sent', details: () => JSON.stringify(view) },
  );
  t.same(view!.clusters.map((c) => c.id), ['ca', 'cb'], 'both clusters, by id');
  t.equal(view!.stale, false, 'not stale');
  for (const entry of view!.clusters) {
    const backendCluster = cluster(entry.id);
    const leader = await backendCluster.waitForLeader();
    const status = await backendCluster.status(leader.id);
    t.same([entry.leader, entry.epoch, [...entry.isr].sort()], [leader.id, leader.epoch, [...status.isr].sort()], `${entry.id}: the leader, epoch and ISR its leader reports`);
    t.same(
      entry.nodes.map((n) => [n.id, n.address, n.live]),
      backendCluster.nodes.map((n) => [n.id, n.url, true]),
      `${entry.id}: every node with its address, live`,
    );
    t.equal(entry.reachable, true, `${entry.id}: its leader answered`);
    const expected = expectedCounts.get(entry.id)!;
    t.same(entry.queues[expected.queue], { visible: expected.visible, inflight: 0, delayed: 0 }, `${entry.id}: ${expected.queue} holds ${expected.visible} visible messages`);
    const otherQueue = [...expectedCounts.values()].find((e) => e.queue !== expected.queue)!.queue;
    t.equal(entry.queues[otherQueue], undefined, `${entry.id}: the other cluster’s queue is not counted here`);
  }
  const { messages } = await backend(onA.queue.clusterId).call('ReceiveMessage', { queue: id('view-a'), maxMessages: 1, visibilityTimeoutSeconds: 300 });
  t.equal(messages.length, 1, 'one message received from view-a');
  await pollUntil(
    async () => {
      const res = await serviceA.call<ClusterViewBody>('GET', '/v1/clusters');
      view = res.body;
      const counts = view.clusters.find((c) => c.id === onA.queue.clusterId)?.queues[id('view-a')];
      return counts?.visible === 3 && counts.inflight === 1;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: 'the cluster view to count one message in flight', details: () => JSON.stringify(view) },
  );
  t.pass('a received message is counted in flight');
  await Promise.all(['view-a', 'view-b'].map((q) => serviceA.call('DELETE', path(q))));
});

// ------------------------------------------------------------------------------------ two instances

t.test('two metadata service instances over one ZooKeeper agree, through watches', async (t) => {
  const created = await create(serviceA, 'agree-1', { DelaySeconds: '1' });
  const seen = await pollUntil(
    async () => {
      const res = await serviceB.call<QueueBody>('GET', path('agree-1'));
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: 'instance B to see a queue created through A' },
  );
  t.same([seen.version, seen.queue.arn, seen.queue.clusterId, seen.queue.config.delayMs], [created.version, created.queue.arn, created.queue.clusterId, 1_000], 'B sees the queue A created, same version and record');
  t.ok((await serviceB.call<ListBody>('GET', '/v1/queues?prefix=agree-')).body.names.includes('agree-1'), 'and lists it');

  const changed = await serviceB.call<QueueBody>('PATCH', path('agree-1', '/attributes'), { attributes: { DelaySeconds: '7' } });
  t.equal(changed.status, 200, 'B changes its attributes');
  const onA = await pollUntil(
    async () => {
      const body = (await serviceA.call<QueueBody>('GET', path('agree-1'))).body;
      return body.version === changed.body.version ? body : undefined;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: `instance A to show version ${changed.body.version}` },
  );
  t.equal(onA.queue.config.delayMs, 7_000, 'A shows B’s change with B’s version');

  // A writes a queue many times: each write re-reads it, and must not pile up watchers.
  let version = onA.version;
  for (let i = 0; i < 15; i++) {
    const res = await serviceA.call<QueueBody>('POST', path('agree-1', '/tags'), { tags: { round: String(i) } });
    t.ok(res.status === 200 && res.body.version > version, `A's tag write ${i} raises the version`);
    version = res.body.version;
  }
  await pollUntil(async () => (await serviceB.call<QueueBody>('GET', path('agree-1'))).body.version === version, { timeoutMs: WATCH_TIMEOUT_MS, what: `B to show version ${version}` });
  t.equal((await serviceB.call<{ tags: Record<string, string> }>('GET', path('agree-1', '/tags'))).body.tags.round, '14', 'B sees A’s last tag');
  t.notMatch(serviceA.logTail(400), /MaxListenersExceededWarning/, 'A’s repeated writes to one queue do not pile up ZooKeeper watchers');

  t.equal((await serviceA.call('DELETE', path('agree-1'))).status, 200, 'A deletes it');
  await pollUntil(async () => (await serviceB.call('GET', path('agree-1'))).status === 400, { timeoutMs: WATCH_TIMEOUT_MS, what: 'B to see the deletion' });
  failed(t, await serviceB.call('GET', path('agree-1')), 400, 'QueueDoesNotExist', 'B sees the deletion');
  const again = await create(serviceB, 'agree-1', { DelaySeconds: '3' });
  t.equal(again.created, true, 'B creates the name again at once');
  const reborn = await pollUntil(
    async () => {
      const res = await serviceA.call<QueueBody>('GET', path('agree-1'));
      return res.status === 200 && res.body.queue.config.delayMs === 3_000 ? res.body : undefined;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: 'A to see the queue created again through B' },
  );
  t.equal(reborn.version, 0, 'A sees the new queue, version 0');
});

// ------------------------------------------------------------------------------------ ZooKeeper trouble

t.test('ZooKeeper paused: stale reads, fast 503 writes; resumed after the sessions expired: everything recovers', async (t) => {
  const before = await create(serviceA, 'zk-before', { DelaySeconds: '1' });
  await pollUntil(async () => (await serviceB.call('GET', path('zk-before'))).status === 200, { timeoutMs: WATCH_TIMEOUT_MS, what: 'B to see zk-before' });
  const epochsBefore = new Map(((await serviceA.call<ClusterViewBody>('GET', '/v1/clusters')).body.clusters).map((c) => [c.id, c.epoch ?? -1]));

  let lateService: MetadataServiceProcess | undefined;
  await zookeeper.pause();
  const pausedAt = performance.now();
  try {
    let started = performance.now();
    failed(t, await serviceA.call('POST', '/v1/queues', { name: 'zk-during' }), 503, 'ServiceUnavailable', 'a create right after the pause fails with 503');
    const firstWriteMs = performance.now() - started;
    // Before the lease runs out the write waits for ZooKeeper, at most the session timeout.
    t.ok(firstWriteMs < SESSION_TIMEOUT_MS + 1_500, `within ${(SESSION_TIMEOUT_MS + 1_500) / 1000} s (${Math.round(firstWriteMs)} ms; the session timeout is ${SESSION_TIMEOUT_MS} ms)`);

    for (const [name, service] of [['A', serviceA], ['B', serviceB]] as const) {
      await pollUntil(async () => (await service.call<{ stale: boolean }>('GET', '/health')).body.stale, { timeoutMs: 3_000, what: `${name} to report stale` });
    }
    const read = await serviceA.call<QueueBody>('GET', path('zk-before'));
    t.same([read.status, read.body.version, read.body.stale], [200, before.version, true], 'reads still answer from the cache, marked stale');
    const listed = await serviceA.call<ListBody>('GET', '/v1/queues?prefix=zk-');
    t.same([listed.status, listed.body.names, listed.body.stale], [200, ['zk-before'], true], 'lists too');
    const writes: Array<[string, () => Promise<MetadataAnswer<unknown>>]> = [
      ['create', () => serviceA.call('POST', '/v1/queues', { name: 'zk-during' })],
      ['set attributes', () => serviceA.call('PATCH', path('zk-before', '/attributes'), { attributes: { DelaySeconds: '2' } })],
      ['tag', () => serviceA.call('POST', path('zk-before', '/tags'), { tags: { a: 'b' } })],
      ['untag', () => serviceA.call('DELETE', path('zk-before', '/tags'), { keys: ['a'] })],
      ['delete', () => serviceA.call('DELETE', path('zk-before'))],
      ['create on B', () => serviceB.call('POST', '/v1/queues', { name: 'zk-during' })],
    ];
    for (const [what, write] of writes) {
      started = performance.now();
      const res = await write();
      const ms = performance.now() - started;
      failed(t, res, 503, 'ServiceUnavailable', `${what} while stale: 503`);
      t.ok(ms < 500, `${what} fails fast (${Math.round(ms)} ms)`);
    }
    // A third instance started now has never read the registry: it must not deny that queues exist.
    const late = await startMetadataService({ zookeeper, zkRoot: ROOT, sessionTimeoutMs: SESSION_TIMEOUT_MS, waitForZooKeeper: false });
    services.push(late);
    lateService = late;
    t.equal((await late.call<{ stale: boolean }>('GET', '/health')).body.stale, true, 'an instance started while ZooKeeper is paused says it is stale');
    failed(t, await late.call('GET', path('zk-before')), 503, 'ServiceUnavailable', 'and answers 503 for a queue it has not read, not QueueDoesNotExist');
    const lateList = await late.call<ListBody>('GET', '/v1/queues?prefix=zk-');
    t.same([lateList.status, lateList.body.stale], [200, true], 'its (empty) list is marked stale');
    // The sessions (2 s) must run out while ZooKeeper is paused, so that the resume expires them.
    const remaining = pausedAt + SESSION_TIMEOUT_MS * 1.5 - performance.now();
    if (remaining > 0) await delay(remaining);
  } finally {
    await zookeeper.resume();
  }

  await pollUntil(() => [serviceA, serviceB].every((s) => /session expired/.test(s.logTail(400))), { timeoutMs: 10_000, what: 'both instances to log that their session expired' });
  t.pass('both instances saw their ZooKeeper session expire');
  await Promise.all([...clusters.values()].map((c) => c.waitForLeader(20_000)));

  const after = await pollUntil(
    async () => {
      const res = await serviceB.call<QueueBody>('POST', '/v1/queues', { name: 'zk-after' }, 20_000);
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: 30_000, what: 'B to create a queue again' },
  );
  t.equal(after.created, true, 'B creates a queue after the resume');
  const seen = await pollUntil(
    async () => {
      const res = await serviceA.call<QueueBody>('GET', path('zk-after'));
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: 10_000, what: 'A to see the queue B created after the resume' },
  );
  t.same([seen.version, seen.stale, seen.queue.clusterId], [after.version, false, after.queue.clusterId], 'A sees it, not stale: it re-read and re-watched the registry');

  const changed = await serviceB.call<QueueBody>('PATCH', path('zk-before', '/attributes'), { attributes: { DelaySeconds: '4' } });
  t.ok(changed.status === 200 && changed.body.version > before.version, 'B changes a queue that existed before the pause');
  const onA = await pollUntil(
    async () => {
      const body = (await serviceA.call<QueueBody>('GET', path('zk-before'))).body;
      return body.version === changed.body.version ? body : undefined;
    },
    { timeoutMs: WATCH_TIMEOUT_MS, what: `A to show zk-before at version ${changed.body.version}` },
  );
  t.equal(onA.queue.config.delayMs, 4_000, 'A sees that change too: the queues it already knew are watched again');

  const lateSeen = await pollUntil(
    async () => {
      const res = await lateService!.call<QueueBody>('GET', path('zk-before'));
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: 10_000, what: 'the instance started during the pause to read the registry' },
  );
  t.same([lateSeen.version, lateSeen.stale], [changed.body.version, false], 'once ZooKeeper answers, the late instance serves the current record, not stale');

  const written = await serviceA.call<QueueBody>('PATCH', path('zk-after', '/attributes'), { attributes: { DelaySeconds: '5' } });
  t.same([written.status, written.body.stale], [200, false], 'writes through A succeed again');
  const { messages: none } = await backend(after.queue.clusterId).call('ReceiveMessage', { queue: id('zk-after'), maxMessages: 1 });
  t.same(none, [], 'the queue created after the resume exists on its backend');

  // The backends lost their sessions too and elected again: the cluster view must follow.
  let view: ClusterViewBody | undefined;
  await pollUntil(
    async () => {
      view = (await serviceA.call<ClusterViewBody>('GET', '/v1/clusters')).body;
      const checks = await Promise.all(
        view.clusters.map(async (c) => {
          const leader = await cluster(c.id).waitForLeader(1_000);
          return c.leader === leader.id && c.epoch === leader.epoch;
        }),
      );
      return view.clusters.length === 2 && checks.every(Boolean);
    },
    { timeoutMs: 10_000, what: 'A’s cluster view to show each cluster’s current leader and epoch', details: () => JSON.stringify(view) },
  );
  t.ok(view!.clusters.every((c) => (c.epoch ?? -1) > (epochsBefore.get(c.id) ?? -1)), `A’s cluster view shows the epochs of the new elections (${JSON.stringify([...epochsBefore])} → ${JSON.stringify(view!.clusters.map((c) => [c.id, c.epoch]))})`);
});
