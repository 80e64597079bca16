/**
 * The data directory's layout (`<data>/conveyor.json`): the flags it was created with, and every
 * backend cluster and node that exists — those `conveyor cluster add` and `node add` created
 * too — with each node's standing, so a restart of `npm start` brings back exactly what was
 * running. Pure functions apart from load/save.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LAYOUT_FILE = 'conveyor.json';

/** active: runs and replicates; drained: stopped, may not lead or be in sync; removed: out of the cluster for good. */
export type NodeStanding = 'active' | 'drained' | 'removed';

export interface NodeSpec {
  id: string;
  cluster: string;
  standing: NodeStanding;
}

export interface ClusterSpec {
  id: string;
  /** How many replicas the cluster keeps (a drain hands a node's replica to another node). */
  replicas: number;
  minInSync: number;
}

export interface Layout {
  /** The `npm start` flags the directory was created with (a restart must repeat them). */
  clusters: number;
  replicas: number;
  topology: { clusters: ClusterSpec[]; nodes: NodeSpec[] };
}

export const minInSyncFor = (replicas: number): number => Math.min(2, replicas);

export function initialLayout(clusters: number, replicas: number): Layout {
  const specs: ClusterSpec[] = [];
  const nodes: NodeSpec[] = [];
  for (let c = 1; c <= clusters; c++) {
    specs.push({ id: `c${c}`, replicas, minInSync: minInSyncFor(replicas) });
    for (let n = 1; n <= replicas; n++) nodes.push({ id: `c${c}n${n}`, cluster: `c${c}`, standing: 'active' });
  }
  return { clusters, replicas, topology: { clusters: specs, nodes } };
}

/** Reads the layout; a file written before clusters and nodes could be added gets its topology derived. */
export function loadLayout(dir: string): Layout | undefined {
  const file = join(dir, LAYOUT_FILE);
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Layout>;
  if (typeof parsed.clusters !== 'number' || typeof parsed.replicas !== 'number') throw new Error('not a Conveyor layout');
  return parsed.topology ? (parsed as Layout) : initialLayout(parsed.clusters, parsed.replicas);
}

/** Written whole to a temporary file and renamed, so a crash never leaves half a layout. */
export function saveLayout(dir: string, layout: Layout): void {
  const file = join(dir, LAYOUT_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(layout, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export const nodesOf = (layout: Layout, cluster: string, standing?: NodeStanding): NodeSpec[] =>
  layout.topology.nodes.filter((n) => n.cluster === cluster && (standing === undefined || n.standing === standing));

export function nextClusterId(layout: Layout): string {
  const taken = layout.topology.clusters.map((c) => Number(/^c(\d+)$/.exec(c.id)?.[1] ?? 0));
  return `c${Math.max(0, ...taken) + 1}`;
}

/** Node ids are never reused, not even a removed node's: its old data and records stay its own. */
export function nextNodeId(layout: Layout, cluster: string): string {
  const taken = nodesOf(layout, cluster).map((n) => Number(new RegExp(`^${cluster}n(\\d+)$`).exec(n.id)?.[1] ?? 0));
  return `${cluster}n${Math.max(0, ...taken) + 1}`;
}

/** Why a node may not be removed now, or undefined if it may. */
export function removalRefusal(layout: Layout, nodeId: string): string | undefined {
  const node = layout.topology.nodes.find((n) => n.id === nodeId);
  if (!node) return undefined;
  if (node.standing === 'removed') return `Node ${nodeId} was removed already.`;
  if (node.standing !== 'drained') return `Node ${nodeId} is not drained; run "conveyor node drain ${nodeId}" first.`;
  const cluster = layout.topology.clusters.find((c) => c.id === node.cluster)!;
  const remaining = nodesOf(layout, node.cluster, 'active').length;
  if (remaining < cluster.minInSync) return `Removing ${nodeId} would leave cluster ${node.cluster} with ${remaining} active node(s), fewer than its in-sync minimum of ${cluster.minInSync}; run "conveyor node add --cluster ${node.cluster}" first.`;
  return undefined;
}
