/**
 * Requests to an API Gateway stage route (REST or HTTP API), signed with SigV4 for `execute-api`
 * with the fleet's credentials, so a method or route with AWS_IAM authorization accepts them.
 * The URL comes from the target's execute-api ARN (lib/private/arn.ts `executeApiUrl`), never from
 * elsewhere: a signed request goes only to the API the ARN names, or to the configured endpoint of
 * tests and labs. Each request is bounded in time and in the size of its answer; connections are
 * kept alive between batches, and a request that fails on a kept-alive connection before any
 * answer (the server had closed it) is sent once more on a new one.
 */
import { Agent as HttpAgent, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { ExecuteApiTarget, executeApiUrl } from '../../lib/private/arn';

type SignatureV4Init = ConstructorParameters<typeof SignatureV4>[0];

/** What API Gateway answered. */
export interface ApiGatewayAnswer {
  readonly status: number;
  /** `x-amzn-ErrorType` of an error answer from API Gateway itself (`AccessDeniedException`…). */
  readonly errorType?: string;
  readonly body: Buffer;
}

/** Sends `{"Messages":[…]}` to an API Gateway target. Rejects when no answer arrived (network, timeout, credentials). */
export interface ApiGatewayInvoker {
  invoke(target: ExecuteApiTarget, body: Uint8Array): Promise<ApiGatewayAnswer>;
}

/** Longest wait for a whole answer. API Gateway ends an integration after 29 s (REST) or 30 s (HTTP API) and answers 504 itself. */
export const API_GATEWAY_TIMEOUT_MS = 35_000;

/** Largest answer read; a larger one fails the batch (replies for a batch are far smaller). */
export const API_GATEWAY_MAX_ANSWER_BYTES = 6 * 1024 * 1024;

export interface SignedApiGatewayInvokerOptions {
  /** The fleet's credentials (an SDK client's `config.credentials`). */
  readonly credentials: SignatureV4Init['credentials'];
  /** SHA-256 implementation (an SDK client's `config.sha256`). */
  readonly sha256: SignatureV4Init['sha256'];
  /**
   * Origin every request goes to instead of the API's own host (tests and labs), for instance
   * `http://127.0.0.1:4566`; the path is the same. @default - the API's execute-api host
   */
  readonly endpoint?: string;
  /** @default API_GATEWAY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default API_GATEWAY_MAX_ANSWER_BYTES */
  readonly maxAnswerBytes?: number;
}

const USER_AGENT = 'packet-gateway api-gateway';

export class SignedApiGatewayInvoker implements ApiGatewayInvoker {
  private readonly signers = new Map<string, SignatureV4>();
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;

  public constructor(private readonly options: SignedApiGatewayInvokerOptions) {
    if (options.endpoint !== undefined && !isHttpOrigin(options.endpoint)) {
      throw new Error(`API Gateway endpoint ${JSON.stringify(options.endpoint)} is not an http(s) URL (allowed: an origin such as http://127.0.0.1:4566)`);
    }
    this.timeoutMs = options.timeoutMs ?? API_GATEWAY_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? API_GATEWAY_MAX_ANSWER_BYTES;
  }

  public async invoke(target: ExecuteApiTarget, body: Uint8Array): Promise<ApiGatewayAnswer> {
    const url = new URL(executeApiUrl(target, this.options.endpoint));
    const port = url.port === '' ? undefined : Number(url.port);
    const signed = await this.signer(target.region).sign({
      method: target.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port,
      path: url.pathname,
      query: {},
      headers: {
        'host': url.host,
        'content-type': 'application/json',
        'content-length': String(body.byteLength),
        'user-agent': USER_AGENT,
      },
      body,
    });
    try {
      return await this.send(url, signed.headers, target.method, body);
    } catch (err) {
      // A kept-alive connection the server had closed: the request never reached it; once more on a new connection.
      if (err instanceof StaleConnectionError) return this.send(url, signed.headers, target.method, body);
      throw err;
    }
  }

  /** Closes the kept-alive connections. */
  public destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private signer(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (!signer) {
      signer = new SignatureV4({ credentials: this.options.credentials, region, service: 'execute-api', sha256: this.options.sha256 });
      this.signers.set(region, signer);
    }
    return signer;
  }

  private send(url: URL, headers: Record<string, string>, method: string, body: Uint8Array): Promise<ApiGatewayAnswer> {
    const https = url.protocol === 'https:';
    const request = https ? httpsRequest : httpRequest;
    return new Promise<ApiGatewayAnswer>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const req = request({
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        method,
        headers,
        agent: https ? this.httpsAgent : this.httpAgent,
      });
      /** Ends the request with `err` (the connection is not reused): the first outcome wins. */
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`no complete answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        fail(stale ? new StaleConnectionError(err.message) : err);
      });
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > this.maxAnswerBytes) fail(new Error(`the answer is larger than ${this.maxAnswerBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const errorType = res.headers['x-amzn-errortype'];
          resolve({
            status: res.statusCode ?? 0,
            ...(typeof errorType === 'string' ? { errorType: errorType.split(':')[0] } : {}),
            body: Buffer.concat(chunks, bytes),
          });
        });
      });
      req.end(body);
    });
  }
}

function isHttpOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The request failed on a reused keep-alive connection before any answer: the server had closed it. */
class StaleConnectionError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'StaleConnectionError';
  }
}
