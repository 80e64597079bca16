// The local launcher's data-directory layout: ids of added clusters and nodes, and when a node may be removed.
import t from 'tap';
import { initialLayout, nextClusterId, nextNodeId, removalRefusal, type Layout } from '@conveyor/cluster';

const withStandings = (layout: Layout, standings: Record<string, 'active' | 'drained' | 'removed'>): Layout => ({
  ...layout,
  topology: { ...layout.topology, nodes: layout.topology.nodes.map((n) => ({ ...n, standing: standings[n.id] ?? n.standing })) },
});

t.test('the initial layout follows the npm start flags', async (t) => {
  const layout = initialLayout(2, 3);
  t.same(layout.topology.clusters, [{ id: 'c1', replicas: 3, minInSync: 2 }, { id: 'c2', replicas: 3, minInSync: 2 }]);
  t.same(layout.topology.nodes.map((n) => n.id), ['c1n1', 'c1n2', 'c1n3', 'c2n1', 'c2n2', 'c2n3']);
  t.equal(initialLayout(1, 1).topology.clusters[0]!.minInSync, 1, 'a single replica needs only itself');
});

t.test('new ids never reuse an old one, not even a removed node', async (t) => {
  const layout = withStandings(initialLayout(1, 3), { c1n3: 'removed' });
  t.equal(nextNodeId(layout, 'c1'), 'c1n4');
  t.equal(nextClusterId(layout), 'c2');
});

t.test('removal is refused unless the node is drained and enough active nodes remain', async (t) => {
  const base = initialLayout(1, 3);
  t.match(removalRefusal(base, 'c1n1'), /not drained; run "conveyor node drain c1n1" first/);
  t.equal(removalRefusal(withStandings(base, { c1n1: 'drained' }), 'c1n1'), undefined, 'two active nodes meet the minimum of 2');
  t.match(removalRefusal(withStandings(base, { c1n1: 'drained', c1n2: 'drained' }), 'c1n1'), /would leave cluster c1 with 1 active node\(s\), fewer than its in-sync minimum of 2/);
  t.match(removalRefusal(withStandings(base, { c1n1: 'removed' }), 'c1n1'), /was removed already/);
});
