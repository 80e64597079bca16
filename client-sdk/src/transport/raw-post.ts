/**
 * A POST through an undici dispatcher with its answer gathered as raw bytes, for the hot internal
 * hops (frontend to backend, follower to leader).
 */
import type { Dispatcher } from 'undici';

/**
 * One POST through the agent, its answer's status and bytes gathered as they come: a raw
 * dispatch handler, without the response stream, header parsing and async resource that
 * undici's request() makes per call. `signal` aborts it as request() would.
 */
export function rawPost(agent: Dispatcher, origin: string, path: string, headers: Readonly<Record<string, string>>, body: Buffer, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ statusCode: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let abortRequest: ((reason: Error) => void) | undefined;
    const onAbort = (): void => abortRequest?.(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal?.removeEventListener('abort', onAbort);
    agent.dispatch(
      { origin, path, method: 'POST', headers: headers as Record<string, string>, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      {
        onConnect(abort: (reason?: Error) => void) {
          abortRequest = abort;
          if (signal?.aborted) abort(signal.reason as Error); // aborted while it waited for a connection
        },
        onHeaders(status: number) {
          if (status >= 200) statusCode = status; // 1xx answers are not the answer
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          settle();
          resolve({ statusCode, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        },
        onError(error: Error) {
          settle();
          reject(error);
        },
      } as unknown as Parameters<Dispatcher['dispatch']>[1],
    );
  });
}
