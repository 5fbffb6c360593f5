/**
 * Amazon API Gateway, "inside-out": each batch is one SigV4-signed request (POST, or the method
 * the execute-api ARN names) of `{"Messages":[…]}` to a REST or HTTP API stage route, whose
 * integration may call anything (another service, an HTTP endpoint outside AWS). A 2xx answer
 * `{"Replies":[…]}` is routed like a Lambda's response; an empty or `null` body means no reply.
 * Any other status fails the batch, with the status, API Gateway's error type and a bounded
 * excerpt of the body in the reason; so does a request that gets no answer in time.
 */
import type { ApiGatewayInvoker, ApiGatewayAnswer } from './api-gateway-invoker';
import { Destination, DestinationContext, DestinationError, DeliveryResult } from './destination';
import { messagesPayloadBuffer, QueuedPacket } from './packet';
import { EXECUTE_API_ARN, ExecuteApiTarget, executeApiTargetOfArn } from '../../lib/private/arn';
import type { ResolvedDestinationRecord } from '../../lib/private/records';

/** Longest excerpt of an error answer's body kept in a failure reason. */
export const ERROR_BODY_EXCERPT_CHARS = 200;

export class ApiGatewayDestination implements Destination {
  public readonly type = 'apigateway' as const;
  public readonly name: string;
  private readonly target: ExecuteApiTarget;
  /** The route as messages name it: `<method> <api id>/<stage><path>`. */
  private readonly route: string;

  public constructor(record: ResolvedDestinationRecord, private readonly invoker: ApiGatewayInvoker) {
    const target = record.Arn === undefined ? undefined : executeApiTargetOfArn(record.Arn);
    if (!target) {
      throw new Error(`destination ${record.Name}: Arn ${JSON.stringify(record.Arn)} is not the execute-api ARN of a stage, method and path (allowed: ${EXECUTE_API_ARN.allowed})`);
    }
    this.name = record.Name;
    this.target = target;
    this.route = `${target.method} ${target.apiId}/${target.stage}${target.path}`;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    let answer: ApiGatewayAnswer;
    try {
      answer = await this.invoker.invoke(this.target, messagesPayloadBuffer(batch));
    } catch (err) {
      throw new DestinationError(`API Gateway request ${this.route} failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (answer.status < 200 || answer.status > 299) {
      throw new DestinationError(`API Gateway answered ${this.route} with HTTP ${answer.status}${answer.errorType ? ` (${answer.errorType})` : ''}: ${excerpt(answer.body)}`);
    }
    const text = answer.body.toString('utf8');
    if (text.trim() === '') return {};
    try {
      return { response: JSON.parse(text) };
    } catch {
      return { responseError: `API Gateway answer of ${answer.body.length} bytes to ${this.route} is not JSON (allowed: {"Replies":[…]} or null)` };
    }
  }
}

/** Creates an API Gateway destination using the shared invoker. */
export function createApiGatewayDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new ApiGatewayDestination(record, context.apiGatewayInvoker());
}

/** The start of an error answer's body, on one line, with its full length when cut. */
function excerpt(body: Buffer): string {
  if (body.length === 0) return 'empty body';
  const text = body.subarray(0, ERROR_BODY_EXCERPT_CHARS * 4).toString('utf8').replace(/\s+/g, ' ').trim();
  if (text.length <= ERROR_BODY_EXCERPT_CHARS && body.length <= ERROR_BODY_EXCERPT_CHARS * 4) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, ERROR_BODY_EXCERPT_CHARS))}… (${body.length} bytes)`;
}
