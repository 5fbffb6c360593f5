/**
 * An AWS-mode Gateway with no Listeners whose STS client is a stub that records every request and
 * answers with credentials of `accessKeyId`: for tests of the destination context it builds
 * (role clients, their credentials, their signing keys).
 */
import type { STSClient } from '@aws-sdk/client-sts';
import type { DestinationContext } from '../../../service/destinations/destination';
import { Gateway } from '../../../service/gateway';
import { capturingLogger, CapturingFailureReporter, CapturingMetrics } from '../helpers';

export interface AwsModeGateway {
  readonly gateway: Gateway;
  /** The gateway's own destination context. */
  readonly context: DestinationContext;
  /** Inputs of the AssumeRole requests the gateway sent, in order. */
  readonly sts: unknown[];
}

export function awsModeGateway(accessKeyId: string, extra: Record<string, unknown> = {}): AwsModeGateway {
  const sts: unknown[] = [];
  const stsClient = {
    send: async (command: { input: unknown }) => {
      sts.push(command.input);
      return { Credentials: { AccessKeyId: accessKeyId, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3_600_000) } };
    },
  } as unknown as STSClient;
  const gateway = new Gateway({
    config: { start: async () => ({ Listeners: [] }), onChange: () => () => undefined, stop: async () => undefined } as never,
    region: 'us-east-1',
    logger: capturingLogger().logger,
    metrics: new CapturingMetrics(),
    failures: new CapturingFailureReporter(),
    local: false,
    stsClient,
    ...extra,
  });
  return { gateway, context: (gateway as unknown as { destinationContext: DestinationContext }).destinationContext, sts };
}
