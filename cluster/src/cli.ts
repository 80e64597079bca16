/**
 * `conveyor`, the operator CLI for a local Conveyor started with `npm start` (it finds it through
 * `<data dir>/run.json`). Exit codes: 0 done, 1 the operation failed (the error code is printed),
 * 2 bad usage or Conveyor is not running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { request } from 'undici';
import { ConveyorError, NativeClient, isConveyorError } from '@conveyor/client-sdk';
import { RUN_FILE, type RunInfo } from './launcher/run-file.ts';
import { LOCAL_ACCOUNT } from './launcher/credentials.ts';
import type { ClusterView } from '@conveyor/metadata-service';

class UsageError extends Error {}
/** The operation was refused or failed; the message says why. */
class OperationFailed extends Error {}

function runInfo(dataDir: string): RunInfo {
  const file = join(dataDir, RUN_FILE);
  if (!existsSync(file)) throw new UsageError(`Conveyor is not running with data in ${dataDir} (no ${file}); start it with "npm start".`);
  const info = JSON.parse(readFileSync(file, 'utf8')) as RunInfo;
  try {
    process.kill(info.pid, 0);
  } catch {
    throw new UsageError(`Conveyor is not running with data in ${dataDir} (its launcher, pid ${info.pid}, is gone); start it with "npm start".`);
  }
  return info;
}

async function metadata<T>(info: RunInfo, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await request(`${info.metadataUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const parsed = (await res.body.json()) as T & { error?: { code: string; message: string } };
  if (res.statusCode >= 400) throw new ConveyorError((parsed.error?.code ?? 'InternalFailure') as never, parsed.error?.message ?? `HTTP ${res.statusCode}`);
  return parsed;
}

/** Asks the launcher (the owner of every process) to act; its refusals keep their kind. */
async function control<T>(info: RunInfo, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  if (!info.control) throw new UsageError('This Conveyor was started by an older launcher without a control endpoint; restart it with "npm start".');
  const res = await request(`${info.control}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Adding nodes and restarts wait for catch-up and elections.
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  }).catch((error: unknown) => {
    throw new UsageError(`The Conveyor launcher (pid ${info.pid}) does not answer at ${info.control} (${(error as Error).message}); is it still starting or stopping?`);
  });
  const parsed = (await res.body.json()) as T & { error?: { kind: string; message: string } };
  if (res.statusCode >= 400) {
    const message = parsed.error?.message ?? `HTTP ${res.statusCode}`;
    throw parsed.error?.kind === 'usage' ? new UsageError(message) : new OperationFailed(message);
  }
  return parsed;
}

interface TopologyNode {
  id: string;
  standing: string;
  running: boolean;
  url: string | null;
}
interface TopologyCluster {
  id: string;
  replicas: number;
  minInSync: number;
  epoch: number | null;
  leader: string | null;
  isr: string[];
  nodes: TopologyNode[];
}

/** A queue id as people read it: the name alone for the local account's queues, `<account>/<name>` for others. */
export function displayQueue(id: string): string {
  const colon = id.indexOf(':');
  if (colon < 0) return id;
  const account = id.slice(0, colon);
  return account === LOCAL_ACCOUNT ? id.slice(colon + 1) : `${account}/${id.slice(colon + 1)}`;
}

/** A node's state column: drained (stopped on purpose) is not "down". */
function nodeState(node: ClusterView['nodes'][number]): string {
  if (node.retired) return node.retired;
  return node.live ? 'live' : 'DOWN';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

const say = (text: string): void => void process.stdout.write(`${text}\n`);

export function buildCli(): Command {
  const program = new Command('conveyor')
    .description('Operate a local Conveyor started with npm start')
    .addOption(new Option('--data-dir <dir>', 'the data directory npm start was given').env('CONVEYOR_DATA_DIR').default('./data'))
    .showHelpAfterError()
    .exitOverride();
  const info = (): RunInfo => runInfo(program.opts<{ dataDir: string }>().dataDir);
  const client = (): NativeClient => new NativeClient({ nodes: info().frontends, deadlineMs: 10_000, ...(info().credentials ? { credentials: info().credentials } : {}) });

  program
    .command('status')
    .description('clusters, nodes, leader, epoch, in-sync set, lag, and queue counts')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { clusters } = await metadata<{ clusters: ClusterView[] }>(info(), 'GET', '/v1/clusters');
      if (opts.json) return say(JSON.stringify({ endpoint: info().endpoint, clusters }, null, 2));
      say(`SQS endpoint: ${info().endpoint}`);
      for (const c of clusters) {
        say(`\ncluster ${c.id}  epoch ${c.epoch ?? '-'}  leader ${c.leader ?? '(none)'}  in-sync ${c.isr.join(',') || '(none)'}`);
        say(table([['node', 'role', 'state', 'in-sync', 'lag', 'address'], ...c.nodes.map((n) => [n.id, n.id === c.leader ? 'leader' : 'follower', nodeState(n), n.inSync ? 'yes' : 'no', n.lag === undefined ? '-' : String(n.lag), n.address])]));
        const queues = Object.entries(c.queues).map(([id, n]) => [displayQueue(id), String(n.visible), String(n.inflight), String(n.delayed)]);
        queues.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
        if (queues.length > 0) say(table([['queue', 'visible', 'in-flight', 'delayed'], ...queues]));
      }
    });

  program
    .command('env')
    .description('shell exports of the endpoint and key for SDKs and the AWS CLI: eval "$(npx conveyor env)"')
    .action(() => {
      const run = info();
      // With authentication off any key is accepted; AWS clients still want one to sign with.
      const key = run.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
      const exports: Array<[string, string]> = [
        ['CONVEYOR_ENDPOINT', run.endpoint],
        ['CONVEYOR_ACCESS_KEY', key.accessKeyId],
        ['CONVEYOR_SECRET_KEY', key.secretAccessKey],
        ['AWS_ACCESS_KEY_ID', key.accessKeyId],
        ['AWS_SECRET_ACCESS_KEY', key.secretAccessKey],
        ['AWS_DEFAULT_REGION', 'us-east-1'],
      ];
      for (const [name, value] of exports) say(`export ${name}='${value.replaceAll("'", "'\\''")}'`);
    });

  const queue = program.command('queue').description('queues');
  queue.command('list').option('--prefix <prefix>', 'name prefix', '').action(async (opts: { prefix: string }) => {
    const { names } = await metadata<{ names: string[] }>(info(), 'GET', `/v1/queues?prefix=${encodeURIComponent(opts.prefix)}`);
    for (const n of names) say(n);
  });
  queue
    .command('create <name>')
    .option('--attribute <key=value...>', 'queue attributes (FifoQueue=true for FIFO queues)')
    .action(async (name: string, opts: { attribute?: string[] }) => {
      const attributes = Object.fromEntries((opts.attribute ?? []).map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
      const { queue: q } = await metadata<{ queue: { name: string; clusterId: string } }>(info(), 'POST', '/v1/queues', { name, attributes });
      say(`${info().endpoint}/000000000000/${q.name}  (cluster ${q.clusterId})`);
    });
  queue.command('delete <name>').action(async (name: string) => {
    await metadata(info(), 'DELETE', `/v1/queues/${encodeURIComponent(name)}`);
  });
  queue.command('attributes <name>').action(async (name: string) => {
    const { attributes } = await metadata<{ attributes: Record<string, string> }>(info(), 'GET', `/v1/queues/${encodeURIComponent(name)}/attributes`);
    for (const [k, v] of Object.entries(attributes)) say(`${k}=${v}`);
  });
  queue.command('purge <name>').action(async (name: string) => {
    const c = client();
    await c.call('PurgeQueue', { queue: name }).finally(() => c.close());
  });
  queue
    .command('send <name> <body>')
    .option('--group <id>', 'MessageGroupId (FIFO queues)')
    .option('--dedup <id>', 'MessageDeduplicationId (FIFO queues)')
    .action(async (name: string, body: string, opts: { group?: string; dedup?: string }) => {
      const c = client();
      try {
        const res = await c.call('SendMessageBatch', { queue: name, entries: [{ id: 'cli', body, groupId: opts.group, dedupId: opts.dedup }] });
        const f = res.failed[0];
        if (f) throw new ConveyorError(f.code as never, f.message);
        say(res.successful[0]!.messageId);
      } finally {
        await c.close();
      }
    });
  queue
    .command('receive <name>')
    .option('--max <n>', 'at most this many (1-10)', '1')
    .option('--wait <seconds>', 'long-poll this long', '0')
    .option('--delete', 'delete what was received')
    .action(async (name: string, opts: { max: string; wait: string; delete?: boolean }) => {
      const c = client();
      try {
        const { messages } = await c.call('ReceiveMessage', { queue: name, maxMessages: Number(opts.max), waitTimeSeconds: Number(opts.wait) });
        for (const m of messages) say(`${m.messageId}\t${m.body}`);
        if (opts.delete && messages.length > 0) await c.call('DeleteMessageBatch', { queue: name, entries: messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
      } finally {
        await c.close();
      }
    });
  queue.command('move <name> <cluster>').description('move a queue to another cluster (drain and switch)').action(async (name: string, cluster: string) => {
    await metadata(info(), 'POST', `/v1/queues/${encodeURIComponent(name)}/move`, { to: cluster });
    say(`moving ${name} to ${cluster}; "conveyor status" shows where it is`);
  });

  const cluster = program.command('cluster').description('backend clusters (replica sets)');
  cluster
    .command('add')
    .description('start a new replicated backend cluster; new queues are placed on it too')
    .option('--replicas <n>', 'nodes in the cluster (1-7; default: what npm start was given)')
    .action(async (opts: { replicas?: string }) => {
      if (opts.replicas !== undefined && !/^\d+$/.test(opts.replicas)) throw new UsageError(`--replicas must be a whole number from 1 to 7, not "${opts.replicas}".`);
      const { cluster: c } = await control<{ cluster: { id: string; replicas: number } }>(info(), 'POST', '/v1/clusters', opts.replicas === undefined ? {} : { replicas: Number(opts.replicas) });
      say(`added cluster ${c.id} (${c.replicas} replicas)`);
    });
  cluster
    .command('list')
    .description('clusters with their nodes, leader and in-sync set')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { clusters } = await control<{ clusters: TopologyCluster[] }>(info(), 'GET', '/v1/topology');
      if (opts.json) return say(JSON.stringify({ clusters }, null, 2));
      say(table([['cluster', 'replicas', 'min-in-sync', 'epoch', 'leader', 'in-sync', 'nodes'], ...clusters.map((c) => [c.id, String(c.replicas), String(c.minInSync), c.epoch === null ? '-' : String(c.epoch), c.leader ?? '(none)', c.isr.join(',') || '(none)', c.nodes.filter((n) => n.standing !== 'removed').map((n) => (n.standing === 'active' ? n.id : `${n.id}(${n.standing})`)).join(',')])]));
    });

  const node = program.command('node').description('backend nodes: membership, restarts, and chaos commands for demos and tests');
  node
    .command('add')
    .description('a new, empty node joins a cluster and catches up')
    .requiredOption('--cluster <id>', 'the cluster to join')
    .action(async (opts: { cluster: string }) => {
      const { node: n } = await control<{ node: { id: string } }>(info(), 'POST', '/v1/nodes', { cluster: opts.cluster });
      say(`added ${n.id} to ${opts.cluster}; it is in sync`);
    });
  node
    .command('drain <id>')
    .description('move leadership away, hand the replica to another node, then stop the node')
    .action(async (id: string) => {
      const { replacement } = await control<{ replacement?: string }>(info(), 'POST', `/v1/nodes/${encodeURIComponent(id)}/drain`);
      say(`drained ${id}${replacement ? `; its replica moved to the new node ${replacement}` : ''}`);
    });
  node
    .command('remove <id>')
    .description('take a drained node out of its cluster for good (its data is deleted)')
    .action(async (id: string) => {
      await control(info(), 'DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
      say(`removed ${id}`);
    });
  node
    .command('restart [id]')
    .description('restart one node, or with --rolling every node one at a time')
    .option('--rolling', 'every backend node, one at a time, each back in sync before the next')
    .action(async (id: string | undefined, opts: { rolling?: boolean }) => {
      if (!!id === !!opts.rolling) throw new UsageError('Give either a node id or --rolling.');
      if (id) {
        await control(info(), 'POST', `/v1/nodes/${encodeURIComponent(id)}/restart`);
        return say(`restarted ${id}; it is back in sync`);
      }
      const { clusters } = await control<{ clusters: TopologyCluster[] }>(info(), 'GET', '/v1/topology');
      for (const c of clusters) {
        // Followers first, the leader last (it hands its leadership over before it stops).
        const active = c.nodes.filter((n) => n.standing === 'active').map((n) => n.id);
        const order = [...active.filter((n) => n !== c.leader), ...active.filter((n) => n === c.leader)];
        for (const n of order) {
          const { wasLeader } = await control<{ wasLeader: boolean }>(info(), 'POST', `/v1/nodes/${encodeURIComponent(n)}/restart`);
          say(`restarted ${n}${wasLeader ? ' (after handing its leadership over)' : ''}; it is back in sync`);
        }
      }
    });
  const signal = (sig: NodeJS.Signals, verb: string) => (id: string) => {
    const n = info().nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`There is no node ${id}; nodes: ${info().nodes.map((x) => x.id).join(', ')}.`);
    try {
      process.kill(n.pid, sig);
    } catch {
      throw new UsageError(`Node ${id} (pid ${n.pid}) is not running.`);
    }
    say(`${verb} ${id}`);
  };
  node.command('kill <id>').description('SIGKILL a node').action(signal('SIGKILL', 'killed'));
  node.command('pause <id>').description('SIGSTOP a node').action(signal('SIGSTOP', 'paused'));
  node.command('resume <id>').description('SIGCONT a node').action(signal('SIGCONT', 'resumed'));
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof OperationFailed) {
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`conveyor: ${error.message}\n`);
      return 2;
    }
    if (isConveyorError(error)) {
      process.stderr.write(`conveyor: ${error.code}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`conveyor: ${(error as Error).message}\n`);
    return 1;
  }
}
