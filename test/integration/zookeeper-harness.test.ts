/**
 * The private ZooKeeper harness: it serves znodes; a short pause() leaves a session alone, while
 * pause() longer than the session timeout then resume() expires it (its ephemeral node goes);
 * restart() after a stop or a kill keeps persistent data; stop() leaves no process and no temp dir.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import zookeeper from 'node-zookeeper-client';
import { findZooKeeperInstall, pollUntil, startZooKeeper, ZOOKEEPER_INSTALL_HINT } from '../support/index.ts';

const SESSION_TIMEOUT_MS = 2_000;

type Client = zookeeper.Client;

async function connect(t: Test, connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: SESSION_TIMEOUT_MS, spinDelay: 100, retries: 0 });
  t.teardown(() => client.close());
  let connected = false;
  client.once('connected', () => (connected = true));
  client.connect();
  await pollUntil(() => connected, { timeoutMs: 5_000, what: `a ZooKeeper session on ${connectString}` });
  return client;
}

const create = (client: Client, path: string, data: string, mode: number): Promise<string> =>
  new Promise((resolve, reject) => client.create(path, Buffer.from(data), mode, (error, created) => (error ? reject(error) : resolve(created))));

const read = (client: Client, path: string): Promise<string> =>
  new Promise((resolve, reject) => client.getData(path, (error, data) => (error ? reject(error) : resolve(data.toString('utf8')))));

const exists = (client: Client, path: string): Promise<boolean> =>
  new Promise((resolve, reject) => client.exists(path, (error, stat) => (error ? reject(error) : resolve(Boolean(stat)))));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('a missing ZooKeeper install is reported with what to install', async (t) => {
  const error = t.throws(() => findZooKeeperInstall({ ...process.env, ZOOKEEPER_HOME: '/nonexistent/zookeeper' })) as Error;
  t.match(error.message, ZOOKEEPER_INSTALL_HINT);
  t.match(error.message, '/nonexistent/zookeeper');
});

t.test('a private ZooKeeper: znodes, session expiry by pause, restart, stop', async (t) => {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  t.match(zk.connectString, /^127\.0\.0\.1:\d+$/);
  t.ok(pidAlive(zk.pid), 'the JVM runs');
  t.match(await zk.fourLetterWord('ruok'), 'imok');

  const client = await connect(t, zk.connectString);
  t.equal(client.getSessionTimeout(), SESSION_TIMEOUT_MS, 'the server grants a 2 s session');
  await create(client, '/persistent', 'kept', zookeeper.CreateMode.PERSISTENT);
  await create(client, '/ephemeral', 'mine', zookeeper.CreateMode.EPHEMERAL);
  t.equal(await read(client, '/persistent'), 'kept');
  t.equal(await read(client, '/ephemeral'), 'mine');

  let expired = false;
  client.once('expired', () => (expired = true));

  await t.test('a pause well inside the session timeout leaves the session alone', async (t) => {
    await zk.pause();
    t.ok(zk.paused);
    await delay(500);
    await zk.resume();
    t.ok(await exists(client, '/ephemeral'), 'the ephemeral node is still there');
    t.notOk(expired, 'the session did not expire');
  });

  await t.test('pause() past the session timeout, then resume(), expires the session', async (t) => {
    await zk.pause();
    // The point of the test: the server sleeps through the whole session timeout.
    await delay(SESSION_TIMEOUT_MS + 1_000);
    await zk.resume();
    await pollUntil(() => expired, { timeoutMs: 5_000, what: 'the client to see its session expire' });
    const observer = await connect(t, zk.connectString);
    await pollUntil(async () => !(await exists(observer, '/ephemeral')), { timeoutMs: 5_000, what: 'the ephemeral node to go' });
    t.equal(await read(observer, '/persistent'), 'kept');
  });

  await t.test('restart() keeps persistent data, after a stop and after a kill', async (t) => {
    const firstPid = zk.pid;
    await zk.restart();
    t.not(zk.pid, firstPid, 'a new JVM');
    t.notOk(pidAlive(firstPid), 'the old JVM is gone');
    t.equal(await read(await connect(t, zk.connectString), '/persistent'), 'kept');

    const killedPid = zk.pid;
    await zk.kill();
    t.notOk(zk.running);
    t.notOk(pidAlive(killedPid), 'kill() waits for the exit');
    t.ok(existsSync(zk.dataDir), 'kill() keeps the data dir');
    await zk.restart();
    t.equal(await read(await connect(t, zk.connectString), '/persistent'), 'kept');
  });

  await t.test('stop() leaves no process and no temp dir, and can be called again', async (t) => {
    const pid = zk.pid;
    await zk.stop();
    t.throws(() => process.kill(pid, 0), 'the JVM is gone');
    t.notOk(existsSync(zk.dataDir), 'the temp dir is gone');
    await zk.stop();
    await t.rejects(zk.restart(), /was stopped/);
  });
});
