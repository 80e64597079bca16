/**
 * SigV4 headers for hand-made requests in tests (raw HTTP to a frontend), signed by the client
 * SDK's RequestSigner with a test account's key.
 */
import { RequestSigner } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS, TEST_REGION, type TestCredentials } from './credentials.ts';

/** `headers` plus authorization, x-amz-date and x-amz-content-sha256 (host is left to the HTTP client). */
export async function signedHeaders(url: string, headers: Record<string, string>, body: string | Uint8Array, options: { credentials?: TestCredentials; method?: string; date?: Date } = {}): Promise<Record<string, string>> {
  const signer = new RequestSigner({ credentials: options.credentials ?? TEST_CREDENTIALS, region: TEST_REGION });
  const { host: _host, ...signed } = await signer.sign({ method: options.method ?? 'POST', url, headers, body }, options.date);
  return signed;
}
