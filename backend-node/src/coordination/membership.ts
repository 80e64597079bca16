/**
 * Operator membership changes of a cluster, in ZooKeeper:
 *   `<cluster>/retired/<node>`  "drained" (may not lead or join the in-sync set) or "removed" (gone for good)
 *   `<cluster>/members/<node>`  the persistent membership record, deleted when a node is removed
 * Every change is one ZooKeeper transaction that also rewrites `<cluster>/state` at the version
 * the decision was made on (a compare-and-set): an election or ISR change in between makes it
 * fail, and a node elected on the old version cannot win its own compare-and-set afterwards.
 */
import zookeeper from 'node-zookeeper-client';
import type { ClusterState } from '../replication/types.ts';
import { withTimeout, zkChildren, zkErrorKind, zkExists, zkGetData, type ZkClient } from './zk.ts';

export type RetiredKind = 'drained' | 'removed';

export const clusterPath = (root: string, clusterId: string): string => `${root.replace(/\/+$/, '')}/clusters/${clusterId}`;

export async function readClusterState(client: ZkClient, root: string, clusterId: string, timeoutMs: number): Promise<{ state: ClusterState; version: number; raw: Buffer } | undefined> {
  try {
    const { data, stat } = await withTimeout(zkGetData(client, `${clusterPath(root, clusterId)}/state`), timeoutMs, 'read state');
    const raw = data ?? Buffer.from('');
    const state = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as ClusterState) : { epoch: 0, leader: null, isr: [] };
    return { state, version: stat.version, raw };
  } catch (error) {
    if (zkErrorKind(error) === 'noNode') return undefined;
    throw error;
  }
}

/** The retired nodes of a cluster and why. */
export async function readRetired(client: ZkClient, root: string, clusterId: string, timeoutMs: number): Promise<Map<string, RetiredKind>> {
  const base = `${clusterPath(root, clusterId)}/retired`;
  let ids: string[];
  try {
    ids = await withTimeout(zkChildren(client, base), timeoutMs, 'list retired');
  } catch (error) {
    if (zkErrorKind(error) === 'noNode') return new Map();
    throw error;
  }
  const out = new Map<string, RetiredKind>();
  for (const id of ids) {
    try {
      const { data } = await withTimeout(zkGetData(client, `${base}/${id}`), timeoutMs, 'read retired');
      out.set(id, data?.toString('utf8') === 'removed' ? 'removed' : 'drained');
    } catch (error) {
      if (zkErrorKind(error) !== 'noNode') throw error;
    }
  }
  return out;
}

function commit(transaction: zookeeper.Transaction, timeoutMs: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => transaction.commit((error) => (error ? reject(error) : resolve()))),
    timeoutMs,
    'membership transaction',
  );
}

export class MembershipRefused extends Error {}

/**
 * Applies one membership change by compare-and-set on the cluster state, re-reading and re-checking
 * `precondition` after a lost race (at most a few times). `precondition` throws MembershipRefused
 * to refuse.
 */
async function changeMembership(
  client: ZkClient,
  root: string,
  clusterId: string,
  timeoutMs: number,
  precondition: (state: ClusterState) => void,
  build: (transaction: zookeeper.Transaction, exists: { retired: boolean; member: boolean }) => void,
  nodeId: string,
): Promise<void> {
  const base = clusterPath(root, clusterId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readClusterState(client, root, clusterId, timeoutMs);
    if (!current) throw new MembershipRefused(`Cluster ${clusterId} has no state in ZooKeeper.`);
    precondition(current.state);
    const retired = (await withTimeout(zkExists(client, `${base}/retired/${nodeId}`), timeoutMs, 'exists')) !== undefined;
    const member = (await withTimeout(zkExists(client, `${base}/members/${nodeId}`), timeoutMs, 'exists')) !== undefined;
    if (!(await withTimeout(zkExists(client, `${base}/retired`), timeoutMs, 'exists'))) {
      await new Promise<void>((resolve, reject) => client.mkdirp(`${base}/retired`, (e) => (e ? reject(e) : resolve())));
    }
    const transaction = client.transaction().setData(`${base}/state`, current.raw, current.version);
    build(transaction, { retired, member });
    try {
      await commit(transaction, timeoutMs);
      return;
    } catch (error) {
      // A lost compare-and-set (or a racing create): look again.
      if (zkErrorKind(error) === 'connectionLoss') throw error;
    }
  }
  throw new Error(`the state of cluster ${clusterId} kept changing; try again`);
}

/** Marks a node drained: from now on it may not lead (an election in flight loses its CAS) nor rejoin the in-sync set. */
export async function markDrained(client: ZkClient, root: string, clusterId: string, nodeId: string, timeoutMs: number): Promise<void> {
  const path = `${clusterPath(root, clusterId)}/retired/${nodeId}`;
  await changeMembership(client, root, clusterId, timeoutMs, () => {}, (tx, exists) => {
    if (exists.retired) tx.setData(path, Buffer.from('drained'), -1);
    else tx.create(path, Buffer.from('drained'), zookeeper.CreateMode.PERSISTENT);
  }, nodeId);
}

/**
 * Takes a drained node out of the membership for good: refused unless it is drained, out of the
 * in-sync set and not the leader, and at least `minInSync` other members remain.
 */
export async function removeMember(client: ZkClient, root: string, clusterId: string, nodeId: string, minInSync: number, timeoutMs: number): Promise<void> {
  const base = clusterPath(root, clusterId);
  const retired = await readRetired(client, root, clusterId, timeoutMs);
  if (!retired.has(nodeId)) throw new MembershipRefused(`Node ${nodeId} is not drained; run "conveyor node drain ${nodeId}" first.`);
  const members = await withTimeout(zkChildren(client, `${base}/members`), timeoutMs, 'list members');
  const remaining = members.filter((id) => id !== nodeId && !retired.has(id));
  if (remaining.length < minInSync) {
    throw new MembershipRefused(`Removing ${nodeId} would leave cluster ${clusterId} with ${remaining.length} member(s), fewer than its in-sync minimum of ${minInSync}; add a node first.`);
  }
  await changeMembership(client, root, clusterId, timeoutMs, (state) => {
    if (state.leader === nodeId || state.isr.includes(nodeId)) throw new MembershipRefused(`Node ${nodeId} is still in the in-sync set of cluster ${clusterId}; wait for its leader to drop it and try again.`);
  }, (tx, exists) => {
    if (exists.member) tx.remove(`${base}/members/${nodeId}`, -1);
    tx.setData(`${base}/retired/${nodeId}`, Buffer.from('removed'), -1);
  }, nodeId);
}
