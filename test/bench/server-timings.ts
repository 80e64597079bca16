/**
 * Where a bench phase's time went on the servers, from their Prometheus metrics: the requests the
 * frontends answered by action (how many calls the clients' batches made), their round trips to
 * backend nodes by action, the leader's commit time (append to high watermark),
 * each node's synced LevelDB writes and each server's garbage collection pauses (main thread). A phase's figures are the differences of histogram
 * sums and counts scraped before and after it.
 */

export interface ServerEndpoints {
  frontends: readonly string[];
  nodes: ReadonlyArray<{ id: string; url: string }>;
}

/** Histogram totals by source and series (`<source> <metric>{labels}`). */
export type Totals = Map<string, { sum: number; count: number }>;

const SERIES = /^(conveyor_frontend_request_duration_seconds|conveyor_frontend_backend_request_duration_seconds|conveyor_node_commit_duration_seconds|conveyor_node_storage_write_duration_seconds|nodejs_gc_duration_seconds)_(sum|count)(\{[^}]*\})? (\S+)$/;

/** Adds the histogram series of one server's metrics text to `totals`. */
export function addSeries(totals: Totals, source: string, text: string): void {
  for (const line of text.split('\n')) {
    const m = SERIES.exec(line);
    if (!m) continue;
    const key = `${source} ${m[1]}${m[3] ?? ''}`;
    const entry = totals.get(key) ?? { sum: 0, count: 0 };
    entry[m[2] as 'sum' | 'count'] = Number(m[4]);
    totals.set(key, entry);
  }
}

/** Scrapes every frontend and node; one that does not answer within 2 s is left out. */
export async function scrapeTotals(endpoints: ServerEndpoints): Promise<Totals> {
  const totals: Totals = new Map();
  const sources = [...endpoints.frontends.map((url, i) => ({ source: `frontend-${i + 1}`, url })), ...endpoints.nodes.map((n) => ({ source: n.id, url: n.url }))];
  await Promise.all(
    sources.map(async ({ source, url }) => {
      try {
        const res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(2_000) });
        if (res.ok) addSeries(totals, source, await res.text());
      } catch {
        // A server that does not answer is left out of the report.
      }
    }),
  );
  return totals;
}

interface Delta {
  source: string;
  series: string;
  count: number;
  meanMs: number;
}

function deltas(before: Totals, after: Totals): Delta[] {
  const out: Delta[] = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const space = key.indexOf(' ');
    out.push({ source: key.slice(0, space), series: key.slice(space + 1), count, meanMs: ((a.sum - b.sum) / count) * 1000 });
  }
  return out;
}

const label = (series: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(series)?.[1];
const fmt = (d: Delta): string => `${d.count} × ${d.meanMs.toFixed(1)} ms`;

/** Calls × mean time per action of one histogram (`keep` filters its series), as "Action n × m ms, …". */
function perAction(moved: readonly Delta[], metric: string, keep: (series: string) => boolean = () => true): string | undefined {
  const calls = new Map<string, { count: number; totalMs: number }>();
  for (const d of moved) {
    if (!d.series.startsWith(`${metric}{`) || !keep(d.series)) continue;
    const action = label(d.series, 'action') ?? '?';
    const c = calls.get(action) ?? { count: 0, totalMs: 0 };
    c.count += d.count;
    c.totalMs += d.count * d.meanMs;
    calls.set(action, c);
  }
  if (calls.size === 0) return undefined;
  return [...calls].map(([action, c]) => `${action} ${c.count} × ${(c.totalMs / c.count).toFixed(1)} ms`).join(', ');
}

/** One line: calls × mean time of each kind, between two scrapes; empty when nothing moved. */
export function timingReport(before: Totals, after: Totals): string {
  const moved = deltas(before, after);
  const parts: string[] = [];
  const requests = perAction(moved, 'conveyor_frontend_request_duration_seconds');
  if (requests) parts.push(`client→frontend ${requests}`);
  const calls = perAction(moved, 'conveyor_frontend_backend_request_duration_seconds', (series) => label(series, 'outcome') === 'ok');
  if (calls) parts.push(`frontend→node ${calls}`);
  const commits = moved.filter((d) => d.series.startsWith('conveyor_node_commit_duration_seconds'));
  if (commits.length > 0) parts.push(`commits ${commits.map((d) => `${d.source} ${fmt(d)}`).join(', ')}`);
  const synced = moved.filter((d) => d.series.startsWith('conveyor_node_storage_write_duration_seconds') && label(d.series, 'synced') === 'true');
  if (synced.length > 0) parts.push(`synced writes ${synced.map((d) => `${d.source} ${fmt(d)}`).join(', ')}`);
  const gc = new Map<string, { count: number; totalMs: number }>();
  for (const d of moved) {
    if (!d.series.startsWith('nodejs_gc_duration_seconds')) continue;
    const g = gc.get(d.source) ?? { count: 0, totalMs: 0 };
    g.count += d.count;
    g.totalMs += d.count * d.meanMs;
    gc.set(d.source, g);
  }
  if (gc.size > 0) parts.push(`GC pauses ${[...gc].map(([source, g]) => `${source} ${g.count} × ${(g.totalMs / g.count).toFixed(1)} ms`).join(', ')}`);
  return parts.join('; ');
}
