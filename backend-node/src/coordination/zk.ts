/** Promise wrappers over node-zookeeper-client, with its error codes as a small union. */
import zookeeper from 'node-zookeeper-client';

export type ZkClient = zookeeper.Client;
export type ZkStat = zookeeper.Stat;
export const { CreateMode } = zookeeper;

export type ZkErrorKind = 'noNode' | 'nodeExists' | 'badVersion' | 'connectionLoss' | 'other';

export function zkErrorKind(error: unknown): ZkErrorKind {
  const code = (error as { getCode?: () => number })?.getCode?.();
  if (code === zookeeper.Exception.NO_NODE) return 'noNode';
  if (code === zookeeper.Exception.NODE_EXISTS) return 'nodeExists';
  if (code === zookeeper.Exception.BAD_VERSION) return 'badVersion';
  if (code === zookeeper.Exception.CONNECTION_LOSS || code === zookeeper.Exception.OPERATION_TIMEOUT || code === zookeeper.Exception.SESSION_EXPIRED) return 'connectionLoss';
  return 'other';
}

type Watcher = (event: zookeeper.Event) => void;

export function createZkClient(connectString: string, sessionTimeoutMs: number): ZkClient {
  return zookeeper.createClient(connectString, { sessionTimeout: sessionTimeoutMs, spinDelay: 200, retries: 0 });
}

export function zkConnect(client: ZkClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('connected', onConnected);
      reject(new Error(`ZooKeeper did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnected = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connected', onConnected);
    client.connect();
  });
}

export const zkGetData = (client: ZkClient, path: string, watcher?: Watcher): Promise<{ data: Buffer | undefined; stat: ZkStat }> =>
  new Promise((resolve, reject) => {
    const cb = (error: Error | zookeeper.Exception | null, data: Buffer, stat: ZkStat): void => (error ? reject(error) : resolve({ data: data ?? undefined, stat }));
    if (watcher) client.getData(path, watcher, cb);
    else client.getData(path, cb);
  });

export const zkSetData = (client: ZkClient, path: string, data: Buffer, version: number): Promise<ZkStat> =>
  new Promise((resolve, reject) => client.setData(path, data, version, (error, stat) => (error ? reject(error) : resolve(stat))));

export const zkCreate = (client: ZkClient, path: string, data: Buffer, mode: number): Promise<string> =>
  new Promise((resolve, reject) => client.create(path, data, mode, (error, created) => (error ? reject(error) : resolve(created))));

export const zkRemove = (client: ZkClient, path: string, version = -1): Promise<void> =>
  new Promise((resolve, reject) => client.remove(path, version, (error) => (error ? reject(error) : resolve())));

export const zkExists = (client: ZkClient, path: string, watcher?: Watcher): Promise<ZkStat | undefined> =>
  new Promise((resolve, reject) => {
    const cb = (error: Error | zookeeper.Exception | null, stat: ZkStat): void => (error ? reject(error) : resolve(stat ?? undefined));
    if (watcher) client.exists(path, watcher, cb);
    else client.exists(path, cb);
  });

export const zkChildren = (client: ZkClient, path: string, watcher?: Watcher): Promise<string[]> =>
  new Promise((resolve, reject) => {
    const cb = (error: Error | zookeeper.Exception | null, children: string[]): void => (error ? reject(error) : resolve(children));
    if (watcher) client.getChildren(path, watcher, cb);
    else client.getChildren(path, cb);
  });

export const zkMkdirp = (client: ZkClient, path: string): Promise<void> =>
  new Promise((resolve, reject) => client.mkdirp(path, (error) => (error ? reject(error) : resolve())));

/** Rejects with a clear error if a ZooKeeper call takes longer than `ms` (the client has no timeouts of its own). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ZooKeeper ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
