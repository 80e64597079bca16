/**
 * A client that routes queue operations the way a frontend will: it asks the metadata service
 * where a queue lives (and whether it is moving), sends to the cluster that takes sends, receives
 * from the old cluster first and then the new one during a move, and deletes on the cluster that
 * issued the receipt handle. QueueMoved and QueueDoesNotExist answers refresh the route.
 */
import { request } from 'undici';
import { ConveyorError, NativeClient, isConveyorError, type NativeReceivedMessage, type NativeSendEntry } from '@conveyor/client-sdk';

interface Route {
  /** The queue's id on its backend (`<account>:<name>`). */
  id: string;
  clusterId: string;
  moveTo?: string;
  fifo: boolean;
}

export interface RoutedMessage extends NativeReceivedMessage {
  cluster: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const body = (await res.body.json()) as T & { error?: { code: string; message: string } };
  if (res.statusCode !== 200) throw new ConveyorError((body.error?.code ?? 'InternalFailure') as never, body.error?.message ?? `HTTP ${res.statusCode}`);
  return body;
}

export class RoutedQueueClient {
  private readonly routes = new Map<string, Route>();
  private readonly clients = new Map<string, NativeClient>();

  constructor(private readonly metadataUrl: string, private readonly deadlineMs = 30_000) {}

  private async route(queue: string, refresh = false): Promise<Route> {
    const cached = this.routes.get(queue);
    if (cached && !refresh) return cached;
    const { queue: record } = await getJson<{ queue: { id: string; clusterId: string; move?: { to: string }; config: { fifo: boolean } } }>(`${this.metadataUrl}/v1/queues/${encodeURIComponent(queue)}`);
    const route: Route = { id: record.id, clusterId: record.clusterId, moveTo: record.move?.to, fifo: record.config.fifo };
    this.routes.set(queue, route);
    return route;
  }

  private async cluster(id: string): Promise<NativeClient> {
    const existing = this.clients.get(id);
    if (existing) return existing;
    const { clusters } = await getJson<{ clusters: Array<{ id: string; nodes: Array<{ address: string; live: boolean }> }> }>(`${this.metadataUrl}/v1/clusters`);
    const c = clusters.find((x) => x.id === id);
    if (!c) throw new ConveyorError('ServiceUnavailable', `cluster ${id} is unknown`);
    const client = new NativeClient({ nodes: c.nodes.filter((n) => n.live).map((n) => n.address), deadlineMs: 15_000, requestTimeoutMs: 5_000 });
    this.clients.set(id, client);
    return client;
  }

  /** Retries routing failures (moved, not there yet, not available) until the deadline. */
  private async withRoute<T>(queue: string, fn: (route: Route) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    let refresh = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(await this.route(queue, refresh));
      } catch (error) {
        const routing = isConveyorError(error) && ['QueueMoved', 'QueueDoesNotExist', 'ServiceUnavailable', 'NotLeader'].includes(error.code);
        if (!routing || Date.now() > deadline) throw error;
        refresh = true;
        await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  async send(queue: string, entries: NativeSendEntry[]): Promise<Array<{ id: string; messageId: string }>> {
    return this.withRoute(queue, async (route) => {
      // A FIFO queue takes no sends until its move ends: new messages must not overtake moved ones.
      if (route.moveTo && route.fifo) throw new ConveyorError('ServiceUnavailable', 'FIFO queue is moving');
      const res = await (await this.cluster(route.moveTo ?? route.clusterId)).call('SendMessageBatch', { queue: route.id, entries });
      if (res.failed.length > 0) throw new Error(`send failed: ${res.failed[0]!.code} ${res.failed[0]!.message}`);
      return res.successful;
    });
  }

  async receive(queue: string, maxMessages: number, visibilityTimeoutSeconds: number): Promise<RoutedMessage[]> {
    return this.withRoute(queue, async (route) => {
      for (const id of route.moveTo ? [route.clusterId, route.moveTo] : [route.clusterId]) {
        const { messages } = await (await this.cluster(id)).call('ReceiveMessage', { queue: route.id, maxMessages, visibilityTimeoutSeconds });
        if (messages.length > 0) return messages.map((m) => ({ ...m, cluster: id }));
      }
      return [];
    });
  }

  /** Deletes on the clusters the handles came from; a queue already moved away means the message moved too. */
  async delete(queue: string, messages: readonly RoutedMessage[]): Promise<number> {
    let deleted = 0;
    const queueId = (await this.route(queue)).id;
    for (const id of new Set(messages.map((m) => m.cluster))) {
      const mine = messages.filter((m) => m.cluster === id);
      try {
        const res = await (await this.cluster(id)).call('DeleteMessageBatch', { queue: queueId, entries: mine.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
        deleted += res.successful.length;
      } catch (error) {
        if (!isConveyorError(error, 'QueueDoesNotExist')) throw error;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) await c.close();
  }
}
