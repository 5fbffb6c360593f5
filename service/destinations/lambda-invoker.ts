/**
 * Synchronous Lambda Invoke (RequestResponse) for the ingress path.
 *
 * `LambdaClient.send` runs the SDK's whole middleware stack for every request: input and output
 * schemas, endpoint rules, user agent, retry bookkeeping, auth scheme selection, signing. On the
 * ingress path that costs ≈ 0.25 ms of CPU per Invoke (2.5 µs per packet in a batch of 100), more
 * than the gateway's own work per packet (docs/BENCHMARKS.md). {@link DirectLambdaInvoker} sends
 * the same request with the same client's parts: the endpoint the SDK resolves for Invoke
 * (configured endpoints such as `AWS_ENDPOINT_URL_LAMBDA`, FIPS and dual-stack included), its
 * credential provider, clock offset (sampled from each answer as the SDK does), HTTP handler with
 * its keep-alive connections and stream collector, and the SDK's SigV4 signer (hashing with
 * {@link SigningSha256}: the same digests with fewer node:crypto objects; given the payload hash,
 * and, through {@link InvokeSigner}, the function's canonical path and the date's SigV4 forms,
 * each computed once rather than per request). Everything but a
 * plain answer goes back to the SDK: when the request gets no 2xx answer (throttle, service error,
 * network failure, credentials not available), the batch is sent again through `client.send`,
 * whose retry strategy, clock-skew correction and error parsing then apply exactly as they would
 * have, and the function's following Invokes go through the SDK for {@link FALLBACK_COOLDOWN_MS}, so
 * a throttled function gets the SDK's backoff and retry quota rather than twice the requests.
 *
 * Use it only on a client without middleware of its own (tracing, logging, mocks): the direct path
 * does not run the client's middleware stack. The gateway wraps only the client it creates itself.
 */
import { InvokeCommand, InvokeWithResponseStreamCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalPathOf, InvokeSigner } from './invoke-signer';
import { sha256Hex, SigningSha256 } from './signing-hash';

/** What a synchronous invocation answered. */
export interface InvokeOutcome {
  /** `Handled` or `Unhandled` when the function failed (its error object is the payload). */
  readonly functionError?: string;
  /** The function's response payload (empty when it returned nothing). */
  readonly payload?: Uint8Array;
}

/** How one Invoke is made. */
export interface InvokeOptions {
  /** `Event`: asynchronous (answered 202 without a payload). @default RequestResponse */
  readonly invocationType?: 'RequestResponse' | 'Event';
  /** Tenant of the invocation (functions in tenant isolation mode; header `X-Amz-Tenant-Id`). @default - none */
  readonly tenantId?: string;
}

/** How an InvokeWithResponseStream ended (its InvokeComplete event). */
export interface StreamOutcome {
  /** Set when the function failed (`Unhandled`, …). */
  readonly errorCode?: string;
  readonly errorDetails?: string;
}

/** Invokes a function. Rejects with the SDK's error when the Invoke itself failed. */
export interface LambdaInvoker {
  invoke(functionName: string, payload: Uint8Array, options?: InvokeOptions): Promise<InvokeOutcome>;
  /**
   * InvokeWithResponseStream: `onChunk` receives each PayloadChunk as it arrives; resolves when
   * the stream is complete.
   */
  invokeWithResponseStream?(
    functionName: string, payload: Uint8Array, onChunk: (chunk: Uint8Array) => void, options?: InvokeOptions,
  ): Promise<StreamOutcome>;
}

/** Every Invoke through `client.send` (and so through any middleware the client carries). */
export class SdkLambdaInvoker implements LambdaInvoker {
  public constructor(private readonly client: LambdaClient) {}

  public async invoke(functionName: string, payload: Uint8Array, options: InvokeOptions = {}): Promise<InvokeOutcome> {
    const out = await this.client.send(new InvokeCommand({
      FunctionName: functionName,
      InvocationType: options.invocationType ?? 'RequestResponse',
      Payload: payload,
      ...(options.tenantId !== undefined ? { TenantId: options.tenantId } : {}),
    }));
    return { functionError: out.FunctionError, payload: out.Payload };
  }

  public async invokeWithResponseStream(
    functionName: string, payload: Uint8Array, onChunk: (chunk: Uint8Array) => void, options: InvokeOptions = {},
  ): Promise<StreamOutcome> {
    const out = await this.client.send(new InvokeWithResponseStreamCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: payload,
      ...(options.tenantId !== undefined ? { TenantId: options.tenantId } : {}),
    }));
    let outcome: StreamOutcome = {};
    if (out.EventStream) {
      for await (const event of out.EventStream) {
        if (event.PayloadChunk?.Payload) onChunk(event.PayloadChunk.Payload);
        else if (event.InvokeComplete) outcome = { errorCode: event.InvokeComplete.ErrorCode, errorDetails: event.InvokeComplete.ErrorDetails };
      }
    }
    return outcome;
  }
}

/** After an Invoke that needed the SDK, this long every Invoke of the same function goes through the SDK. */
export const FALLBACK_COOLDOWN_MS = 5_000;

/** Where and how the direct path sends, resolved once from the client's configuration. */
interface Route {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** The `host` header. */
  readonly host: string;
  /** Path prefix of the endpoint (empty for AWS's own endpoints). */
  readonly basePath: string;
  readonly query: Record<string, string>;
  /** Headers the endpoint asks for (custom endpoints may carry some). */
  readonly headers: Record<string, string>;
  /** True when the endpoint asks for no headers of its own. */
  readonly noEndpointHeaders: boolean;
  /** The SDK's signer as the SDK configures it: it canonicalizes the request path itself. */
  readonly signer: SignatureV4;
  /**
   * The same signer with `uriEscapePath: false`, handed the path in the canonical form `signer`
   * gives it (see {@link pathOf}), or undefined when that form cannot be had from `signer`.
   */
  readonly canonicalPathSigner?: SignatureV4;
  /** Sign with the client's clock offset and sample it from answers (unless the client disables skew correction). */
  readonly sampleClock: boolean;
}

/** A function's Invoke path as sent, and as SigV4 canonicalizes it. */
interface InvokePath {
  readonly path: string;
  /** undefined: the signer canonicalizes `path` at every signing. */
  readonly canonical?: string;
}

/** The response as the client's HTTP handler returns it. */
interface HandlerResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | undefined>;
  readonly body?: unknown;
}

const USER_AGENT = 'packet-gateway lambda-invoke';
/** Functions whose Invoke path is remembered (the map is emptied when full). */
const MAX_REMEMBERED_PATHS = 1000;
/** The SDK does not sample the clock from answers that took longer than this (`getUpdatedSystemClockOffset`). */
const MAX_SAMPLE_MS = 900_000;

/** Invokes with one signed HTTP request; anything but a 2xx answer goes through the SDK (see the module comment). */
export class DirectLambdaInvoker implements LambdaInvoker {
  private readonly sdk: SdkLambdaInvoker;
  private route?: Promise<Route | undefined>;
  /** Per function name: until when its Invokes go through the SDK. */
  private readonly sdkUntil = new Map<string, number>();
  /** Per function name: its Invoke path. */
  private readonly paths = new Map<string, InvokePath>();

  /** @param onFallback told why an Invoke went to the SDK (for a log line or metric). */
  public constructor(private readonly client: LambdaClient, private readonly onFallback?: (reason: string) => void) {
    this.sdk = new SdkLambdaInvoker(client);
  }

  public async invoke(functionName: string, payload: Uint8Array, options: InvokeOptions = {}): Promise<InvokeOutcome> {
    if (this.sdkUntil.size > 0 && Date.now() < (this.sdkUntil.get(functionName) ?? 0)) return this.sdk.invoke(functionName, payload, options);
    const route = await (this.route ??= this.resolveRoute(functionName));
    if (!route) return this.sdk.invoke(functionName, payload, options);
    const config = this.client.config;
    const sampleClock = route.sampleClock;
    const invokePath = this.pathOf(route, functionName);
    const headers: Record<string, string> = route.noEndpointHeaders ? {} : { ...route.headers };
    headers.host = route.host;
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(payload.byteLength);
    headers['x-amz-invocation-type'] = options.invocationType ?? 'RequestResponse';
    if (options.tenantId !== undefined) headers['x-amz-tenant-id'] = options.tenantId;
    headers['user-agent'] = USER_AGENT;
    // the header the signer would add with this value: given, it is not hashed again through the SDK's Checksum
    headers['x-amz-content-sha256'] = sha256Hex(payload);
    const signer = invokePath.canonical !== undefined ? route.canonicalPathSigner! : route.signer;
    const request = {
      method: 'POST',
      protocol: route.protocol,
      hostname: route.hostname,
      port: route.port,
      path: invokePath.canonical ?? invokePath.path,
      query: route.query,
      headers,
      body: payload,
    };
    let response: HandlerResponse;
    let sentAt: number;
    try {
      const signed = await signer.sign(request, { signingDate: new Date(Date.now() + (sampleClock ? config.systemClockOffset ?? 0 : 0)) });
      signed.path = invokePath.path;
      sentAt = Date.now();
      const handled = await config.requestHandler.handle(signed as Parameters<typeof config.requestHandler.handle>[0]);
      response = (handled as { response: HandlerResponse }).response;
    } catch (err) {
      // connection refused or reset, timeout, credentials not available: the SDK's retries decide
      return this.fallBack(functionName, payload, options, `request failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (response.statusCode < 200 || response.statusCode > 299) {
      await collect(config, response.body).catch(() => undefined); // read to the end, so the connection can be reused
      return this.fallBack(functionName, payload, options, `HTTP ${response.statusCode} ${header(response.headers, 'x-amzn-errortype') ?? ''}`.trim());
    }
    // A 2xx means the function ran: a body that breaks off now fails the batch rather than running it twice.
    const body = await collect(config, response.body);
    if (sampleClock) sampleClockOffset(config, response.headers, sentAt);
    return { functionError: header(response.headers, 'x-amz-function-error'), payload: body };
  }

  /** Response streaming goes through the SDK: one request per batch, whose event-stream decoding the SDK does. */
  public invokeWithResponseStream(
    functionName: string, payload: Uint8Array, onChunk: (chunk: Uint8Array) => void, options?: InvokeOptions,
  ): Promise<StreamOutcome> {
    return this.sdk.invokeWithResponseStream(functionName, payload, onChunk, options);
  }

  /** The Invoke path of `functionName` as sent and, when the route's signer gives it, as signed. */
  private pathOf(route: Route, functionName: string): InvokePath {
    let known = this.paths.get(functionName);
    if (known === undefined) {
      const path = `${route.basePath}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
      known = { path, canonical: route.canonicalPathSigner !== undefined ? canonicalPathOf(route.signer, path) : undefined };
      if (this.paths.size >= MAX_REMEMBERED_PATHS) this.paths.clear();
      this.paths.set(functionName, known);
    }
    return known;
  }

  private fallBack(functionName: string, payload: Uint8Array, options: InvokeOptions, reason: string): Promise<InvokeOutcome> {
    if (this.sdkUntil.size >= 1000) this.sdkUntil.clear();
    this.sdkUntil.set(functionName, Date.now() + FALLBACK_COOLDOWN_MS);
    this.onFallback?.(reason);
    return this.sdk.invoke(functionName, payload, options);
  }

  /**
   * The endpoint the SDK resolves for Invoke and a signer over the client's credentials, or
   * undefined (every Invoke through the SDK) when the client is set up in a way this path does
   * not reproduce: an HTTP/2 handler, or an endpoint rule asking for another auth scheme.
   */
  private async resolveRoute(functionName: string): Promise<Route | undefined> {
    const config = this.client.config;
    const handlerProtocol = (config.requestHandler as { metadata?: { handlerProtocol?: string } }).metadata?.handlerProtocol ?? '';
    if (handlerProtocol.startsWith('h2')) return this.noRoute(`the client's HTTP handler speaks ${handlerProtocol}`);
    try {
      const endpoint = await getEndpointFromInstructions(
        { FunctionName: functionName, InvocationType: 'RequestResponse' },
        InvokeCommand as unknown as Parameters<typeof getEndpointFromInstructions>[1],
        { ...config },
      );
      const scheme = (endpoint.properties?.authSchemes as Array<{ name?: string; signingRegion?: string; signingName?: string }> | undefined)?.[0];
      if (scheme?.name !== undefined && scheme.name !== 'sigv4') return this.noRoute(`the endpoint asks for auth scheme ${scheme.name}`);
      const url = endpoint.url;
      const headers: Record<string, string> = {};
      for (const [name, values] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = values.join(',');
      const port = url.port === '' ? undefined : Number(url.port);
      const signing = {
        // read on every signing, as the SDK does, so a replaced provider is used too
        credentials: () => this.client.config.credentials(),
        region: scheme?.signingRegion ?? (await config.region()),
        service: scheme?.signingName ?? 'lambda',
        sha256: SigningSha256,
      };
      const signer = new InvokeSigner(signing);
      return {
        protocol: url.protocol,
        hostname: url.hostname,
        port,
        host: port === undefined ? url.hostname : `${url.hostname}:${port}`,
        basePath: url.pathname.replace(/\/+$/, ''),
        query: Object.fromEntries(url.searchParams),
        headers,
        noEndpointHeaders: Object.keys(headers).length === 0,
        signer,
        canonicalPathSigner: canonicalPathOf(signer, '/') !== undefined ? new InvokeSigner({ ...signing, uriEscapePath: false }) : undefined,
        sampleClock: !(await config.disableClockSkewCorrection?.()),
      };
    } catch (err) {
      return this.noRoute(`the endpoint could not be resolved (${(err as Error)?.message ?? String(err)})`);
    }
  }

  /** Every Invoke goes through the SDK from now on; says why once. */
  private noRoute(reason: string): undefined {
    this.onFallback?.(`direct Invoke path not used: ${reason}`);
    return undefined;
  }
}

/** The whole response body (handlers answer with a stream, or with bytes already read). */
async function collect(config: LambdaClient['config'], body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  return config.streamCollector(body);
}

/** The clock offset from an answer's `Date` header, as the SDK samples it after each request. */
function sampleClockOffset(config: LambdaClient['config'], headers: Record<string, string | undefined>, sentAt: number): void {
  const date = header(headers, 'date');
  if (date === undefined || header(headers, 'age') !== undefined) return;
  const serverTime = Date.parse(date);
  const receivedAt = Date.now();
  if (Number.isNaN(serverTime) || receivedAt - sentAt > MAX_SAMPLE_MS) return;
  config.systemClockOffset = serverTime - receivedAt;
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  if (headers[name] !== undefined) return headers[name];
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}
