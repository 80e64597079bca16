/**
 * The local Conveyor of `npm start`: a private ZooKeeper, one metadata service, backend clusters
 * and frontends, all as child processes with their data under one directory, started in order
 * and checked healthy, and stopped together. Its control endpoint lets the `conveyor` CLI add
 * clusters and nodes and drain, remove and restart nodes while the launcher keeps owning them.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ZOOKEEPER_INSTALL_HINT, findExecutable, findZooKeeperInstall, pathDirs, type ZooKeeperInstall } from './zookeeper-install.ts';
import { ZkSession } from '@conveyor/backend-node';
import { extraNodeArgs, freePort, portIsFree, serverNodeArgs, startChild, stopChild, waitUntil, type Child } from './processes.ts';
import { entryArgs } from './entry-bundle.ts';
import { RUN_FILE, type RunInfo } from './run-file.ts';
import { BackendFleet } from './backend-fleet.ts';
import { startControlServer, type ControlServer } from './control-server.ts';
import { LAYOUT_FILE, initialLayout, loadLayout, saveLayout, type Layout } from './layout.ts';
import { localCredentials, type LocalCredentials } from './credentials.ts';

export interface LocalClusterOptions {
  dataDir: string;
  port: number;
  clusters: number;
  replicas: number;
  frontends: number;
  /** false (`--no-auth`): frontends check no signatures. */
  auth?: boolean;
  say: (line: string) => void;
}

export interface RunningCluster {
  endpoint: string;
  frontends: string[];
  /** What runs: clusters and backend nodes (those added with the CLI included). */
  clusters: number;
  nodes: number;
  /** The key frontends accept (absent with auth off). */
  credentials?: LocalCredentials;
  stop(): Promise<void>;
}

export { RUN_FILE, type RunInfo } from './run-file.ts';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** One sentence a user can act on; the launcher prints it and exits non-zero. */
export class LaunchError extends Error {}

function ensureInstall(say: (line: string) => void): ZooKeeperInstall {
  try {
    return findZooKeeperInstall();
  } catch (error) {
    const canInstall = process.getuid?.() === 0 && findExecutable('apt-get', pathDirs()) !== undefined;
    if (!canInstall) throw new LaunchError(`${(error as Error).message}`);
    say(`ZooKeeper or Java is missing; installing them with apt-get (${ZOOKEEPER_INSTALL_HINT})…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'zookeeper', 'default-jre-headless'], { stdio: 'inherit', env });
    if (update.status !== 0 || install.status !== 0) throw new LaunchError(`Installing ZooKeeper and Java failed; run "${ZOOKEEPER_INSTALL_HINT}" yourself and try again.`);
    return findZooKeeperInstall();
  }
}

/** The data directory: writable, and laid out for this topology (or new). Returns its layout. */
function prepareDataDir(options: LocalClusterOptions): Layout {
  const dir = options.dataDir;
  try {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch {
    throw new LaunchError(`The data directory ${dir} is not writable; choose another with --data-dir.`);
  }
  let existing: Layout | undefined;
  try {
    existing = loadLayout(dir);
  } catch {
    throw new LaunchError(`${join(dir, LAYOUT_FILE)} is unreadable; this data directory belongs to something else. Choose another with --data-dir.`);
  }
  if (!existing) {
    const layout = initialLayout(options.clusters, options.replicas);
    saveLayout(dir, layout);
    return layout;
  }
  if (existing.clusters !== options.clusters || existing.replicas !== options.replicas) {
    throw new LaunchError(`The data directory ${dir} holds a cluster of ${existing.clusters} × ${existing.replicas} nodes, not ${options.clusters} × ${options.replicas}; start with those flags or choose another --data-dir.`);
  }
  return existing;
}

function zooKeeperAnswers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('srvr'));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolveAnswer(/Mode:/.test(data)));
    socket.on('error', () => resolveAnswer(false));
  });
}

async function httpOk(url: string, accept: (body: string) => boolean = () => true): Promise<boolean> {
  const res = await request(url, { headersTimeout: 1_000, bodyTimeout: 1_000 });
  const body = await res.body.text();
  return res.statusCode === 200 && accept(body);
}

function exitedEarly(children: Child[]): string | undefined {
  const dead = children.find((c) => c.process.exitCode !== null || c.process.signalCode !== null);
  return dead ? `${dead.name} exited early; see ${dead.logFile}` : undefined;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<RunningCluster> {
  const dataDir = resolve(options.dataDir);
  const opts = { ...options, dataDir };
  for (const [name, value, max] of [['--clusters', opts.clusters, 9], ['--replicas', opts.replicas, 7], ['--frontends', opts.frontends, 9]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new LaunchError(`${name} must be a whole number from 1 to ${max}, not ${value}.`);
  }
  const frontendPorts = Array.from({ length: opts.frontends }, (_, i) => opts.port + i);
  for (const port of frontendPorts) {
    if (!(await portIsFree(port))) throw new LaunchError(`Port ${port} is already in use; stop what uses it or choose another with --port.`);
  }
  const install = ensureInstall(opts.say);
  const layout = prepareDataDir(opts);
  const children: Child[] = [];
  const logs = join(dataDir, 'logs');
  const runFile = join(dataDir, RUN_FILE);
  let session: ZkSession | undefined;
  let control: ControlServer | undefined;
  let info: RunInfo | undefined;
  const writeRunFile = (): void => {
    if (!info) return;
    info.nodes = fleet.nodes();
    writeFileSync(`${runFile}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 }); // it holds the secret key
    renameSync(`${runFile}.tmp`, runFile);
  };
  let fleet: BackendFleet;
  const stopAll = async (): Promise<void> => {
    await control?.close();
    session?.close();
    // Frontends and the metadata service first, then the backend nodes, then ZooKeeper.
    for (const child of children.slice(1).reverse()) await stopChild(child);
    await fleet?.stopAll();
    if (children[0]) await stopChild(children[0]);
  };
  try {
    // ZooKeeper, with its data kept in the data directory.
    const zkPort = await freePort();
    const zkDir = join(dataDir, 'zookeeper');
    mkdirSync(zkDir, { recursive: true });
    writeFileSync(join(zkDir, 'zoo.cfg'), [`tickTime=500`, `dataDir=${zkDir}`, `clientPort=${zkPort}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', 'maxSessionTimeout=20000', ''].join('\n'));
    writeFileSync(join(zkDir, 'log4j.properties'), 'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %p %c{1}: %m%n\n');
    children.push(
      startChild('ZooKeeper', install.java, ['-Xmx256m', `-Dlog4j.configuration=file:${join(zkDir, 'log4j.properties')}`, '-cp', [zkDir, ...install.classpath].join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(zkDir, 'zoo.cfg')], { cwd: REPO_ROOT, logFile: join(logs, 'zookeeper.log') }),
    );
    await waitUntil('ZooKeeper', () => zooKeeperAnswers(zkPort), 60_000, () => exitedEarly(children));
    const zk = `127.0.0.1:${zkPort}`;

    // Every process starts at once (each spends a second or two loading its code): the backend
    // nodes of the layout (those added later included), the metadata service and the frontends,
    // which only need the metadata service when requests come.
    fleet = new BackendFleet({ dataDir, repoRoot: REPO_ROOT, zookeeper: zk, layout, onChange: writeRunFile });
    for (const node of layout.topology.nodes) if (node.standing === 'active') await fleet.startNode(node);
    const metadataPort = await freePort();
    const metadataUrl = `http://127.0.0.1:${metadataPort}`;
    children.push(startChild('metadata service', process.execPath, [...extraNodeArgs(), ...(await entryArgs('metadata-service/src/main.ts')), '--listen', `127.0.0.1:${metadataPort}`, '--zookeeper', zk], { cwd: REPO_ROOT, logFile: join(logs, 'metadata.log') }));
    const frontends = frontendPorts.map((port) => `http://127.0.0.1:${port}`);
    const auth = opts.auth === false ? undefined : localCredentials(dataDir);
    const authArgs = auth ? ['--auth-keys', auth.keysFile] : ['--no-auth'];
    const frontendEntry = await entryArgs('frontend/src/main.ts');
    for (const [i, port] of frontendPorts.entries()) {
      children.push(startChild(`frontend ${i + 1}`, process.execPath, [...serverNodeArgs(), ...frontendEntry, '--listen', `127.0.0.1:${port}`, '--metadata', metadataUrl, ...authArgs], { cwd: REPO_ROOT, logFile: join(logs, `frontend-${i + 1}.log`) }));
    }

    session = new ZkSession({ connectString: zk, sessionTimeoutMs: 10_000, leaseMs: 6_000, log: () => {} });
    await session.start();
    fleet.attach(session);
    for (const cluster of layout.topology.clusters) {
      // Every node must come up, not only enough for a leader.
      const ids = layout.topology.nodes.filter((n) => n.cluster === cluster.id && n.standing === 'active').map((n) => n.id);
      await fleet.waitInSync(cluster.id, [], `a leader in cluster ${cluster.id}`, ids);
    }
    await waitUntil('the metadata service', () => httpOk(`${metadataUrl}/health`, (b) => (JSON.parse(b) as { stale?: boolean }).stale === false), 60_000, () => exitedEarly(children));
    for (const url of frontends) await waitUntil(`the frontend at ${url}`, () => httpOk(`${url}/health`), 60_000, () => exitedEarly(children));
    fleet.metadataUrl = metadataUrl;
    control = await startControlServer(fleet);
    info = { pid: process.pid, endpoint: frontends[0]!, frontends, metadataUrl, zookeeper: zk, control: control.url, nodes: [], ...(auth ? { credentials: auth.credentials } : {}) };
    writeRunFile();
    return {
      endpoint: frontends[0]!,
      frontends,
      clusters: layout.topology.clusters.length,
      nodes: fleet.nodes().length,
      ...(auth ? { credentials: auth.credentials } : {}),
      stop: async () => {
        rmSync(runFile, { force: true });
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
