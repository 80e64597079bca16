/**
 * A client of the backend nodes' native API: msgpack over undici,
 * finds the leader among the nodes it knows and follows NotLeader answers and refused
 * connections until a deadline.
 */
import { Agent } from 'undici';
import { rawPost } from './transport/raw-post.ts';
import { RequestSigner, type Credentials } from './auth/sigv4.ts';
import { ConveyorError, decodeNative, encodeNativeInternal, NATIVE_CONTENT_TYPE, type NativeAction, type NativeActions, type NativeError } from './wire/index.ts';

export interface NativeClientOptions {
  /** Base URLs of every node of the cluster. */
  nodes: string[];
  /** How long one call may keep retrying (NotLeader, connection refused, 503). */
  deadlineMs?: number;
  requestTimeoutMs?: number;
  connections?: number;
  /** Signs every request with SigV4 (frontends verify it; backend nodes do not need it). */
  credentials?: Credentials;
  /** Region of the signature's scope (default us-east-1). */
  region?: string;
}


/** A node's base URL split once: undici's dispatcher takes the origin and the path apart. */
interface NodeTarget {
  origin: string;
  /** The base URL's path without a trailing slash ('' for a bare origin). */
  pathPrefix: string;
}

function nodeTarget(url: string): NodeTarget {
  const parsed = new URL(url);
  return { origin: parsed.origin, pathPrefix: parsed.pathname.replace(/\/+$/, '') };
}

const UNSIGNED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': NATIVE_CONTENT_TYPE });

export class NativeClient {
  private leader: string | undefined;
  /** Base URL → origin and path, so a call parses no URL. */
  private readonly targets = new Map<string, NodeTarget>();
  private readonly agent: Agent;
  private readonly signer: RequestSigner | undefined;
  retries = 0;

  constructor(private readonly options: NativeClientOptions) {
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: options.connections ?? 32 });
    this.signer = options.credentials ? new RequestSigner({ credentials: options.credentials, region: options.region }) : undefined;
  }

  private async headersFor(url: string, body: Buffer): Promise<Readonly<Record<string, string>>> {
    const headers = UNSIGNED_HEADERS;
    if (!this.signer) return headers;
    // undici derives Host from the URL; the signed value is the same.
    const { host: _host, ...signed } = await this.signer.sign({ method: 'POST', url, headers, body });
    return signed;
  }

  /** One attempt against one node. */
  async callNode<A extends NativeAction>(url: string, action: A, body: NativeActions[A]['request'], timeoutMs = this.options.requestTimeoutMs ?? 30_000, signal?: AbortSignal): Promise<NativeActions[A]['response']> {
    let node = this.targets.get(url);
    if (!node) {
      node = nodeTarget(url);
      if (this.targets.size > 1_000) this.targets.clear(); // bounded: nodes named by NotLeader answers
      this.targets.set(url, node);
    }
    const path = `${node.pathPrefix}/native/${action}`;
    const bytes = encodeNativeInternal(body);
    const res = await rawPost(this.agent, node.origin, path, await this.headersFor(`${node.origin}${path}`, bytes), bytes, timeoutMs, signal);
    const answer = res.body;
    if (res.statusCode === 200) return decodeNative<NativeActions[A]['response']>(answer);
    let error: ConveyorError;
    try {
      const { error: e } = decodeNative<NativeError>(answer);
      error = new ConveyorError(e.code, e.message, e.context ?? {});
    } catch {
      error = new ConveyorError('InternalFailure', `HTTP ${res.statusCode}`);
    }
    throw error;
  }

  /** Calls the leader, retrying retryable failures (moving to the named leader) until the deadline. */
  /** `signal` ends the call (and, for a long poll, the poll at the node: it sees the connection close). */
  async call<A extends NativeAction>(action: A, body: NativeActions[A]['request'], signal?: AbortSignal): Promise<NativeActions[A]['response']> {
    const deadline = Date.now() + (this.options.deadlineMs ?? 20_000);
    let attempt = 0;
    let lastError: unknown;
    // Bounded by the deadline; each attempt has its own timeout.
    while (Date.now() < deadline) {
      const url = this.leader ?? this.options.nodes[attempt % this.options.nodes.length]!;
      try {
        if (signal?.aborted) throw new ConveyorError('ServiceUnavailable', 'The caller went away.');
        const result = await this.callNode(url, action, body, undefined, signal);
        this.leader = url;
        return result;
      } catch (error) {
        lastError = error;
        // Retryable codes (NotLeader, ServiceUnavailable, throttling...) and transport failures are
        // retried; QueueMoved is retryable too, but elsewhere: the caller must re-resolve.
        if (error instanceof ConveyorError && (!error.retryable || error.code === 'QueueMoved')) throw error;
        this.retries += 1;
        const named = error instanceof ConveyorError ? error.context.leaderAddress : undefined;
        this.leader = typeof named === 'string' ? named : undefined;
        attempt += 1;
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** Math.min(attempt, 6))));
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`${action} did not succeed before the deadline`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
