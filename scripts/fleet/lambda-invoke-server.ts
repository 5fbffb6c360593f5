/**
 * A local stand-in for the Lambda Invoke API: `POST /2015-03-31/functions/<name>/invocations`,
 * the REST path the AWS SDK and the data plane's direct invoker call (`AWS_ENDPOINT_URL_LAMBDA`
 * points here). `<name>` may be a function name or ARN (URL-encoded); the function runs in this
 * process. Requests are not authenticated (signatures are not checked), as in other local API
 * servers. Errors follow the real API: 404 `ResourceNotFoundException`, 400 `InvalidRequestContentException`,
 * and a handler that throws answers 200 with `X-Amz-Function-Error: Unhandled`.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type InvokeHandler = (event: unknown) => unknown;

export interface LambdaInvokeServer {
  readonly url: string;
  /** Invocations answered so far, by function name. */
  readonly invocations: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The function name of a name, partial ARN or ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]`). */
export function functionNameOf(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  const at = parts.indexOf('function');
  return at >= 0 && parts[at + 1] ? parts[at + 1] : parts[0];
}

export async function startLambdaInvokeServer(options: {
  readonly host: string;
  readonly port: number;
  readonly functions: Readonly<Record<string, InvokeHandler>>;
}): Promise<LambdaInvokeServer> {
  const invocations = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void answer(req, res);
  });
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = INVOKE_PATH.exec((req.url ?? '').split('?')[0]);
    if (req.method !== 'POST' || !match) return send(res, 404, { 'x-amzn-errortype': 'UnknownOperationException' }, { message: `no such operation: ${req.method} ${req.url}` });
    const name = functionNameOf(decodeURIComponent(match[1]));
    const handler = options.functions[name];
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!handler) {
      return send(res, 404, { 'x-amzn-errortype': 'ResourceNotFoundException' }, { Type: 'User', message: `Function not found: ${name} (functions here: ${Object.keys(options.functions).join(', ')})` });
    }
    let event: unknown;
    try {
      event = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { 'x-amzn-errortype': 'InvalidRequestContentException' }, { Type: 'User', message: 'Could not parse request body into json' });
    }
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
    try {
      const result = await handler(event);
      return send(res, 200, { 'x-amz-executed-version': '$LATEST' }, result ?? null);
    } catch (err) {
      return send(res, 200, { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' }, { errorType: (err as Error)?.name ?? 'Error', errorMessage: (err as Error)?.message ?? String(err) });
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}`,
    invocations,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
