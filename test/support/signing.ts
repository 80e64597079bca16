/**
 * SigV4 for hand-made requests in tests (raw HTTP to a frontend): headers signed by the client
 * SDK's RequestSigner, and presigned URLs by @smithy/signature-v4, with a test account's key.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { RequestSigner } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS, TEST_REGION, type TestCredentials } from './credentials.ts';

export interface SigningOptions {
  credentials?: Pick<TestCredentials, 'accessKeyId' | 'secretAccessKey'>;
  method?: string;
  date?: Date;
  region?: string;
  service?: string;
}

/** `headers` plus authorization, x-amz-date and x-amz-content-sha256 (host is left to the HTTP client). */
export async function signedHeaders(url: string, headers: Record<string, string>, body: string | Uint8Array, options: SigningOptions = {}): Promise<Record<string, string>> {
  const signer = new RequestSigner({ credentials: options.credentials ?? TEST_CREDENTIALS, region: options.region ?? TEST_REGION, service: options.service });
  const { host: _host, ...signed } = await signer.sign({ method: options.method ?? 'POST', url, headers, body }, options.date);
  return signed;
}

/** A presigned request: the URL carries X-Amz-Algorithm…X-Amz-Signature; `headers` stay headers (and are signed). */
export async function presigned(url: string, headers: Record<string, string>, body: string, options: SigningOptions & { expiresInSeconds: number }): Promise<{ url: string; headers: Record<string, string> }> {
  const target = new URL(url);
  const signer = new SignatureV4({ credentials: options.credentials ?? TEST_CREDENTIALS, region: options.region ?? TEST_REGION, service: options.service ?? 'sqs', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.presign(
    { method: options.method ?? 'POST', protocol: target.protocol, hostname: target.hostname, port: Number(target.port), path: target.pathname, query: {}, headers: { ...headers, host: target.host }, body },
    { signingDate: options.date, expiresIn: options.expiresInSeconds, unhoistableHeaders: new Set(Object.keys(headers).map((h) => h.toLowerCase())) },
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(signed.query ?? {})) for (const v of Array.isArray(value) ? value : [value]) if (v !== null) query.append(key, v);
  const { host: _host, ...rest } = signed.headers;
  return { url: `${target.origin}${target.pathname}?${query.toString().replace(/\+/g, '%20')}`, headers: rest };
}
