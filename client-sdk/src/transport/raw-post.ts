/**
 * A POST through an undici dispatcher with its answer gathered as raw bytes, for the hot hops
 * (SDK to frontend, frontend to backend, follower to leader).
 */
import type { Dispatcher } from 'undici';

/**
 * One POST through the agent, its answer's status and bytes gathered as they come: a raw
 * dispatch handler, without the response stream, header parsing and async resource that
 * undici's request() makes per call. `signal` aborts it as request() would. `answerHeader`
 * (lower case) names one header of the answer to return as `header`.
 */
export function rawPost(agent: Dispatcher, origin: string, path: string, headers: Readonly<Record<string, string>>, body: Buffer, timeoutMs: number, signal: AbortSignal | undefined, answerHeader?: string): Promise<{ statusCode: number; body: Buffer; header?: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let header: string | undefined;
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
        onHeaders(status: number, rawHeaders: Buffer[]) {
          if (status < 200) return true; // 1xx answers are not the answer
          statusCode = status;
          if (answerHeader !== undefined) {
            for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
              if (rawHeaders[i]!.length === answerHeader.length && rawHeaders[i]!.toString('latin1').toLowerCase() === answerHeader) {
                header = rawHeaders[i + 1]!.toString('latin1');
                break;
              }
            }
          }
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          settle();
          resolve({ statusCode, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ...(header !== undefined && { header }) });
        },
        onError(error: Error) {
          settle();
          reject(error);
        },
      } as unknown as Parameters<Dispatcher['dispatch']>[1],
    );
  });
}
