import { ConveyorError } from '@conveyor/client-sdk/wire';

/** The ConveyorError a promise rejects with; fails loudly if it resolves or throws anything else. */
export async function rejection(promise: Promise<unknown>): Promise<ConveyorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConveyorError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Runs fn and returns the ConveyorError it throws; anything else (or nothing) fails the test. */
export function thrown(fn: () => unknown): ConveyorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConveyorError) return err;
    throw err;
  }
  throw new Error('expected a ConveyorError, but nothing was thrown');
}

/** The error an AWS SDK call rejects with, as name, legacy code, HTTP status and message. */
export async function sqsError(promise: Promise<unknown>): Promise<{ name: string; code?: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; Code?: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, code: e.Code, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}
