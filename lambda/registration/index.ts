/**
 * The registration handler of a Packet Gateway: the `onEvent` and `isComplete` functions behind
 * the gateway's custom-resource provider, for `Custom::PacketGatewayListener`,
 * `Custom::PacketGatewayPacketSource` and `Custom::PacketGatewayWireGuardKey`. Clients, settings and logger live at module scope and are
 * reused across invocations; the work is done by the pure functions {@link handleEvent} and
 * {@link handleCompletion}.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RegistrationContext, settingsFromEnvironment } from './context';
import { roleChain } from './credentials';
import { RegistrationError } from './errors';
import { CompletionResponse, isFailedCreate, ResourceEvent, ResourceResponse } from './events';
import { requireGatewayAccount } from './gateway-account';
import { createListener, deleteListener, updateListener } from './listener-resource';
import { createPacketSource, deletePacketSource, packetSourceComplete, updatePacketSource } from './packet-source-resource';
import { RecordStore } from './record-store';
import { createWireGuardKey, deleteWireGuardKey, updateWireGuardKey } from './wireguard-key-resource';
import { LISTENER_RESOURCE_TYPE, PACKET_SOURCE_RESOURCE_TYPE, WIREGUARD_KEY_RESOURCE_TYPE } from '../../lib/private/resource-properties';

/** Routes a request to the function of its resource type and request type. */
export async function handleEvent(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  // The Delete that follows a Create that failed in onEvent: that Create wrote nothing, so there is nothing to undo.
  if (event.RequestType === 'Delete' && isFailedCreate(event)) return { PhysicalResourceId: event.PhysicalResourceId ?? event.RequestId };
  if (ctx.servedResourceTypes && !ctx.servedResourceTypes.includes(event.ResourceType)) {
    // Nothing of this type was ever written through this function instance: a Delete has nothing to undo.
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? event.RequestId };
    throw new RegistrationError(`${event.ResourceType} is not served by this service token (allowed: ${ctx.servedResourceTypes.join(', ')}). `
      + 'The service token that other accounts may invoke registers PacketSources only; Listeners and WireGuard keys are defined '
      + 'in the stack of the gateway, with its serviceToken.');
  }
  if (event.RequestType !== 'Delete' && (event.ResourceType === LISTENER_RESOURCE_TYPE || event.ResourceType === WIREGUARD_KEY_RESOURCE_TYPE)) {
    // Deletes are served from any account: they only ever remove what the same resource wrote.
    requireGatewayAccount(event, ctx);
  }
  switch (event.ResourceType) {
    case LISTENER_RESOURCE_TYPE:
      if (event.RequestType === 'Create') return createListener(event, ctx);
      if (event.RequestType === 'Update') return updateListener(event, ctx);
      return deleteListener(event, ctx);
    case PACKET_SOURCE_RESOURCE_TYPE:
      if (event.RequestType === 'Create') return createPacketSource(event, ctx);
      if (event.RequestType === 'Update') return updatePacketSource(event, ctx);
      return deletePacketSource(event, ctx);
    case WIREGUARD_KEY_RESOURCE_TYPE:
      if (event.RequestType === 'Create') return createWireGuardKey(event, ctx);
      if (event.RequestType === 'Update') return updateWireGuardKey(event, ctx);
      return deleteWireGuardKey(event);
    default:
      if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? event.RequestId };
      throw new RegistrationError(`Resource type ${event.ResourceType} is not served by Packet Gateway `
        + `(allowed: ${LISTENER_RESOURCE_TYPE}, ${PACKET_SOURCE_RESOURCE_TYPE}, ${WIREGUARD_KEY_RESOURCE_TYPE})`);
  }
}

/** Completion check of a request: PacketSources wait for their subscriptions; everything else is done at once. */
export async function handleCompletion(event: ResourceEvent, ctx: RegistrationContext): Promise<CompletionResponse> {
  if (event.ResourceType === PACKET_SOURCE_RESOURCE_TYPE) return packetSourceComplete(event, ctx);
  return { IsComplete: true };
}

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'packet-gateway-registration' });
const region = process.env.AWS_REGION;
const dynamoClients = new Map<string, DynamoDBDocumentClient>();
const sts = new STSClient({ region });
const secrets = new SecretsManagerClient({ region });
let context: RegistrationContext | undefined;

function dynamoFor(forRegion: string): DynamoDBDocumentClient {
  let client = dynamoClients.get(forRegion);
  if (!client) {
    client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: forRegion }), { marshallOptions: { removeUndefinedValues: true } });
    dynamoClients.set(forRegion, client);
  }
  return client;
}

function contextFromEnvironment(): RegistrationContext {
  if (!context) {
    const settings = settingsFromEnvironment(process.env);
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    context = {
      ...settings,
      store: new RecordStore(dynamoFor),
      snsAs: roleChain({ sts, accessRoleArn: settings.accessRoleArn, sleep }),
      secrets,
      logger,
      now: Date.now,
      sleep,
    };
  }
  return context;
}

/** What is safe to log of a request (the response URL is a credential). */
function summary(event: ResourceEvent): Record<string, unknown> {
  return {
    requestType: event.RequestType,
    resourceType: event.ResourceType,
    logicalResourceId: event.LogicalResourceId,
    physicalResourceId: event.PhysicalResourceId,
    stackId: event.StackId,
    requestId: event.RequestId,
  };
}

/** onEvent entry point of the provider framework. */
export async function onEvent(event: ResourceEvent): Promise<ResourceResponse> {
  logger.info('Registration request', summary(event));
  try {
    const response = await handleEvent(event, contextFromEnvironment());
    logger.info('Registration done', { ...summary(event), physicalResourceId: response.PhysicalResourceId });
    return response;
  } catch (err) {
    logger.error('Registration failed', { ...summary(event), error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

/** isComplete entry point of the provider framework. */
export async function isComplete(event: ResourceEvent): Promise<CompletionResponse> {
  try {
    const response = await handleCompletion(event, contextFromEnvironment());
    if (response.IsComplete) logger.info('Registration complete', summary(event));
    return response;
  } catch (err) {
    logger.error('Registration failed while waiting', { ...summary(event), error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}
