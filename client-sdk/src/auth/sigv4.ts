/**
 * AWS Signature Version 4 signing of Conveyor requests (native API and SQS protocols), through
 * the maintained `@smithy/signature-v4`. The signing key is derived once per day and scope and
 * cached by the library, so signing a batch costs one SHA-256 of its body and a few HMACs.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** An access key and its secret, as configured on the frontends. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignerOptions {
  credentials: Credentials;
  /** Region of the credential scope; the frontends check it (default us-east-1). */
  region?: string;
  /** Service of the credential scope (default `sqs`). */
  service?: string;
}

export interface RequestToSign {
  method: string;
  /** Absolute URL, including any query string. */
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

export class RequestSigner {
  readonly #signer: SignatureV4;

  constructor(options: SignerOptions) {
    this.#signer = new SignatureV4({
      credentials: options.credentials,
      region: options.region ?? 'us-east-1',
      service: options.service ?? 'sqs',
      sha256: Hash.bind(null, 'sha256'),
      // Content-Sha256 makes the body part of what the signature covers, in a header the server checks first.
      applyChecksum: true,
    });
  }

  /**
   * The request's headers plus `authorization`, `x-amz-date` and `x-amz-content-sha256` (the
   * body's SHA-256, or the value given: the wire module's UNSIGNED_PAYLOAD leaves the body out of the signature).
   */
  async sign(request: RequestToSign, signingDate: Date = new Date()): Promise<Record<string, string>> {
    const url = new URL(request.url);
    // No prototype: a parameter named like an Object method ("toString") must not find one.
    const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (const [key, value] of url.searchParams) {
      const seen = query[key];
      query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    const signed = await this.#signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        query,
        headers: { ...request.headers, host: url.host },
        body: request.body,
      },
      { signingDate },
    );
    return signed.headers;
  }
}
