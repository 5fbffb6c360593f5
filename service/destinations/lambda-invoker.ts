/**
 * Synchronous Lambda Invoke (RequestResponse) for the ingress path.
 *
 * `LambdaClient.send` runs the SDK's whole middleware stack for every request: input and output
 * schemas, endpoint rules, user agent, retry bookkeeping, auth scheme selection, signing. On the
 * ingress path that costs ≈ 0.3 ms of CPU per Invoke (3 µs per packet in a batch of 100), more
 * than the gateway's own work per packet (docs/BENCHMARKS.md). {@link DirectLambdaInvoker} sends
 * the same request with the same client's parts (its endpoint provider, credential provider,
 * clock offset, HTTP handler with its keep-alive connections and stream collector) and the SDK's
 * SigV4 signer, and hands everything but a plain answer back to the SDK: when the request gets no
 * 2xx answer (throttle, service error, network failure), the batch is sent again through
 * `client.send`, whose retry strategy, clock-skew correction and error parsing then apply exactly
 * as they would have. A throttled batch therefore costs one more request than with the SDK alone.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';

/** What a synchronous invocation answered. */
export interface InvokeOutcome {
  /** `Handled` or `Unhandled` when the function failed (its error object is the payload). */
  readonly functionError?: string;
  /** The function's response payload (empty when it returned nothing). */
  readonly payload?: Uint8Array;
}

/** Invokes a function synchronously. Rejects with the SDK's error when the Invoke itself failed. */
export interface LambdaInvoker {
  invoke(functionName: string, payload: Uint8Array): Promise<InvokeOutcome>;
}

/** Every Invoke through `client.send`. */
export class SdkLambdaInvoker implements LambdaInvoker {
  public constructor(private readonly client: LambdaClient) {}

  public async invoke(functionName: string, payload: Uint8Array): Promise<InvokeOutcome> {
    const out = await this.client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: payload }));
    return { functionError: out.FunctionError, payload: out.Payload };
  }
}

/** The parts of the client's resolved configuration the direct path uses. */
interface Route {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** Path prefix of the endpoint (empty for AWS's own endpoints). */
  readonly basePath: string;
  readonly signer: SignatureV4;
}

const USER_AGENT = 'packet-gateway lambda-invoke';

/** Invokes with one signed HTTP request; anything but a 2xx answer goes through the SDK (see the module comment). */
export class DirectLambdaInvoker implements LambdaInvoker {
  private readonly fallback: SdkLambdaInvoker;
  private route?: Promise<Route | undefined>;

  public constructor(private readonly client: LambdaClient) {
    this.fallback = new SdkLambdaInvoker(client);
  }

  public async invoke(functionName: string, payload: Uint8Array): Promise<InvokeOutcome> {
    const route = await (this.route ??= this.resolveRoute());
    if (!route) return this.fallback.invoke(functionName, payload);
    const config = this.client.config;
    const path = `${route.basePath}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
    const request = {
      method: 'POST',
      protocol: route.protocol,
      hostname: route.hostname,
      port: route.port,
      path,
      query: {},
      headers: {
        'host': route.port === undefined ? route.hostname : `${route.hostname}:${route.port}`,
        'content-type': 'application/octet-stream',
        'content-length': String(payload.byteLength),
        'x-amz-invocation-type': 'RequestResponse',
        'user-agent': USER_AGENT,
      } as Record<string, string>,
      body: payload,
    };
    let response: { statusCode: number; headers: Record<string, string | undefined>; body?: unknown };
    try {
      const signed = await route.signer.sign(request, { signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)) });
      ({ response } = await config.requestHandler.handle(signed as never) as { response: typeof response });
    } catch {
      // connection refused or reset, timeout, credentials not available yet: the SDK's retries decide
      return this.fallback.invoke(functionName, payload);
    }
    const body = await collect(config, response.body);
    if (response.statusCode < 200 || response.statusCode > 299) return this.fallback.invoke(functionName, payload);
    const functionError = header(response.headers, 'x-amz-function-error');
    return { functionError, payload: body };
  }

  /** The endpoint and signer, resolved once from the client's configuration; undefined: use the SDK for every Invoke. */
  private async resolveRoute(): Promise<Route | undefined> {
    const config = this.client.config;
    try {
      const region = await config.region();
      const custom = config.endpoint ? await config.endpoint() : undefined;
      const endpoint = config.endpointProvider({
        Region: region,
        UseFIPS: await config.useFipsEndpoint(),
        UseDualStack: await config.useDualstackEndpoint(),
        Endpoint: custom ? endpointUrl(custom) : undefined,
      });
      const url = endpoint.url;
      const scheme = (endpoint.properties?.authSchemes as Array<{ name?: string; signingRegion?: string; signingName?: string }> | undefined)?.[0];
      if (scheme && scheme.name !== undefined && scheme.name !== 'sigv4') return undefined;
      return {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        basePath: url.pathname.replace(/\/+$/, ''),
        signer: new SignatureV4({
          credentials: config.credentials,
          region: scheme?.signingRegion ?? region,
          service: scheme?.signingName ?? 'lambda',
          sha256: config.sha256,
        }),
      };
    } catch {
      return undefined;
    }
  }
}

function endpointUrl(e: { protocol: string; hostname: string; port?: number; path: string }): string {
  return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path}`;
}

/** The whole response body (handlers answer with a stream, or with bytes already read). */
async function collect(config: LambdaClient['config'], body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  return config.streamCollector(body);
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  if (headers[name] !== undefined) return headers[name];
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}
