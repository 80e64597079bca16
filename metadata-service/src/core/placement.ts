/** Where a new queue goes: the available cluster with the least load. Pure. */
export interface ClusterLoad {
  id: string;
  /** Has a leader that answers: new queues can go there. */
  available: boolean;
  queueCount: number;
  /** Messages held (visible + in flight + delayed), as its leader reports. */
  backlog: number;
}

/** A queue counts like this many messages of backlog when comparing clusters. */
export const QUEUE_WEIGHT = 1_000;

export function chooseCluster(clusters: readonly ClusterLoad[]): string | undefined {
  let best: ClusterLoad | undefined;
  let bestLoad = Infinity;
  for (const c of [...clusters].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (!c.available) continue;
    const load = c.backlog + QUEUE_WEIGHT * c.queueCount;
    if (load < bestLoad) {
      best = c;
      bestLoad = load;
    }
  }
  return best?.id;
}
