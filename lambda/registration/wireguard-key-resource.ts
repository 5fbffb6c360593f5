/**
 * `Custom::PacketGatewayWireGuardKey`: the key pair of a WireGuard Listener. The private key lives
 * only in Secrets Manager; the resource returns the public key and the secret version that holds
 * the matching private key (the tasks read exactly that version).
 *
 * - `KeySource: Generated`: each `Generation` has its own key pair, stored as the secret version
 *   whose id derives from the generation. Create and Update look that version up and generate
 *   and store a key only when it does not exist yet: retries are idempotent, an Update that keeps
 *   the generation keeps the key, a new generation is a new key pair, and a rollback to an earlier
 *   generation finds that generation's key again.
 * - `KeySource: Provided`: the user's secret holds the key; Create and Update read the current
 *   version and derive the public key.
 * - Delete changes nothing: the secret's lifecycle belongs to the secret's own resource.
 *
 * The private key never leaves Secrets Manager through this resource: it is not returned, logged
 * or quoted in failure reasons. Physical id: the secret ARN.
 */
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { RegistrationContext } from './context';
import { awsErrorName, messageOf, RegistrationError } from './errors';
import type { ResourceEvent, ResourceResponse } from './events';
import { describe } from './properties';
import { generatePrivateKey, generationVersionId, isWireGuardKey, publicKeyOf } from './wireguard-keys';
import { SECRET_ARN } from '../../lib/private/arn';
import { NAME } from '../../lib/private/limits';
import { WireGuardKeyAttribute, WireGuardKeyProperty, WireGuardKeySource } from '../../lib/private/resource-properties';

/** Properties of `Custom::PacketGatewayWireGuardKey`, parsed. */
export interface WireGuardKeyProperties {
  readonly listenerName: string;
  readonly secretArn: string;
  readonly source: keyof typeof WireGuardKeySource;
  readonly generation: number;
}

/** The public half of a stored key pair and the secret version holding the private half. */
interface StoredKey {
  readonly publicKey: string;
  readonly versionId: string;
}

const KNOWN = new Set<string>(['ServiceToken', ...Object.values(WireGuardKeyProperty)]);
const KEY_FORMAT = "32 bytes in base64 (44 characters, as printed by 'wg genkey')";

/** Parses the properties of a Create or Update request; the error lists every problem. */
export function parseWireGuardKeyProperties(raw: Record<string, unknown> | undefined): WireGuardKeyProperties {
  const props = raw ?? {};
  const problems: string[] = [];
  for (const key of Object.keys(props)) {
    if (!KNOWN.has(key)) problems.push(`unknown property ${key} (allowed: ${[...KNOWN].join(', ')})`);
  }
  const listenerName = props[WireGuardKeyProperty.ListenerName];
  if (typeof listenerName !== 'string' || !NAME.pattern.test(listenerName)) {
    problems.push(`ListenerName must be a Listener name (${NAME.allowed}), got ${describe(listenerName)}`);
  }
  const secretArn = props[WireGuardKeyProperty.SecretArn];
  if (typeof secretArn !== 'string' || !SECRET_ARN.pattern.test(secretArn)) {
    problems.push(`SecretArn must be a Secrets Manager secret ARN (${SECRET_ARN.allowed}), got ${describe(secretArn)}`);
  }
  const source = props[WireGuardKeyProperty.KeySource];
  if (typeof source !== 'string' || !Object.prototype.hasOwnProperty.call(WireGuardKeySource, source)) {
    problems.push(`KeySource must be one of ${Object.values(WireGuardKeySource).join(', ')}, got ${describe(source)}`);
  }
  const rawGeneration = props[WireGuardKeyProperty.Generation];
  const generation = typeof rawGeneration === 'number' ? rawGeneration : typeof rawGeneration === 'string' && /^\d{1,10}$/.test(rawGeneration) ? Number(rawGeneration) : NaN;
  if (!Number.isInteger(generation) || generation < 0 || generation > 2_147_483_647) {
    problems.push(`Generation must be an integer from 0 to 2147483647, got ${describe(rawGeneration)}`);
  }
  if (problems.length > 0) throw new RegistrationError(`Invalid WireGuard key properties: ${problems.join('; ')}`);
  return {
    listenerName: listenerName as string,
    secretArn: secretArn as string,
    source: source as keyof typeof WireGuardKeySource,
    generation,
  };
}

/** Create: makes sure the key pair exists (generating and storing it if needed) and returns its public key. */
export async function createWireGuardKey(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const props = parseWireGuardKeyProperties(event.ResourceProperties);
  const key = props.source === 'Generated' ? await generatedKey(props, ctx) : await providedKey(props, ctx);
  ctx.logger.info('WireGuard key ready', {
    listener: props.listenerName, keySource: props.source, generation: props.generation, versionId: key.versionId, publicKey: key.publicKey,
  });
  return {
    PhysicalResourceId: props.secretArn,
    Data: { [WireGuardKeyAttribute.PublicKey]: key.publicKey, [WireGuardKeyAttribute.VersionId]: key.versionId },
  };
}

/**
 * Update: the same generation keeps its key pair, a new generation gets a new one (generated) or
 * reads the secret again (provided). A new secret ARN is a new physical id; the Delete of the old
 * one that follows changes nothing.
 */
export async function updateWireGuardKey(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  return createWireGuardKey(event, ctx);
}

/** Delete: nothing to undo. A generated key goes with its secret, whose resource CloudFormation deletes. */
export async function deleteWireGuardKey(event: ResourceEvent): Promise<ResourceResponse> {
  return { PhysicalResourceId: event.PhysicalResourceId ?? event.RequestId };
}

async function generatedKey(props: WireGuardKeyProperties, ctx: RegistrationContext): Promise<StoredKey> {
  const versionId = generationVersionId(props.secretArn, props.generation);
  const stored = await readGeneration(props, versionId, ctx);
  if (stored !== undefined) return stored;
  const privateKey = generatePrivateKey();
  try {
    await ctx.secrets.send(new PutSecretValueCommand({ SecretId: props.secretArn, ClientRequestToken: versionId, SecretString: privateKey }));
  } catch (err) {
    if (awsErrorName(err) === 'ResourceExistsException') {
      // Another request stored this generation first: its key is the one.
      const winner = await readGeneration(props, versionId, ctx);
      if (winner !== undefined) return winner;
    }
    throw secretError(err, 'write', props);
  }
  return { publicKey: publicKeyOf(privateKey), versionId };
}

/** The key of one generation, or undefined when that version does not exist yet. */
async function readGeneration(props: WireGuardKeyProperties, versionId: string, ctx: RegistrationContext): Promise<StoredKey | undefined> {
  let value: string | undefined;
  try {
    value = (await ctx.secrets.send(new GetSecretValueCommand({ SecretId: props.secretArn, VersionId: versionId }))).SecretString;
  } catch (err) {
    if (awsErrorName(err) === 'ResourceNotFoundException') return undefined;
    throw secretError(err, 'read', props);
  }
  const key = value?.trim();
  if (key === undefined || !isWireGuardKey(key)) {
    throw new RegistrationError(`Secret ${props.secretArn} version ${versionId} (generation ${props.generation} of the key of Listener ${props.listenerName}) `
      + `does not hold a WireGuard private key (allowed: ${KEY_FORMAT}); it was changed outside Packet Gateway. Set privateKeyGeneration to a new value to generate a new key pair.`);
  }
  return { publicKey: publicKeyOf(key), versionId };
}

async function providedKey(props: WireGuardKeyProperties, ctx: RegistrationContext): Promise<StoredKey> {
  let value: string | undefined;
  let versionId: string | undefined;
  try {
    const result = await ctx.secrets.send(new GetSecretValueCommand({ SecretId: props.secretArn }));
    value = result.SecretString;
    versionId = result.VersionId;
  } catch (err) {
    throw secretError(err, 'read', props);
  }
  const what = `Secret ${props.secretArn} (privateKey of Listener ${props.listenerName})`;
  if (value === undefined) {
    throw new RegistrationError(`${what} holds binary data; it must hold the WireGuard private key as text: ${KEY_FORMAT}`);
  }
  const key = value.trim();
  if (!isWireGuardKey(key)) {
    const hint = key.startsWith('{') ? 'a JSON document; store the key alone, as plain text' : `${key.length} characters`;
    throw new RegistrationError(`${what} does not hold a WireGuard private key: expected ${KEY_FORMAT}, got ${hint}`);
  }
  if (!versionId) throw new RegistrationError(`${what}: Secrets Manager returned no version id for the current value`);
  return { publicKey: publicKeyOf(key), versionId };
}

/** A failure reason for a Secrets Manager error that says what to fix. Never includes secret values. */
function secretError(err: unknown, action: 'read' | 'write', props: WireGuardKeyProperties): Error {
  const name = awsErrorName(err);
  const detail = `${name ?? 'Error'}: ${messageOf(err)}`;
  const secret = `secret ${props.secretArn} (key of Listener ${props.listenerName})`;
  switch (name) {
    case 'AccessDeniedException':
      return new RegistrationError(`The registration function may not ${action} ${secret} (${detail}). The Listener grants it `
        + `secretsmanager:${action === 'read' ? 'GetSecretValue' : 'PutSecretValue'} on the secret; a resource policy on the secret, or the key policy of `
        + 'its customer-managed KMS key, must not deny the registration role.');
    case 'ResourceNotFoundException':
      return new RegistrationError(`The ${secret} does not exist in this account and region (${detail})`);
    case 'DecryptionFailure':
    case 'EncryptionFailure':
      return new RegistrationError(`Secrets Manager cannot use the KMS key of ${secret} (${detail}): the key must be enabled and allow the registration role to use it`);
    case 'InvalidRequestException':
      return new RegistrationError(`The ${secret} cannot be ${action === 'read' ? 'read' : 'written'} (${detail}); a secret scheduled for deletion must be restored first`);
    default:
      return new RegistrationError(`Cannot ${action} ${secret}: ${detail}`);
  }
}
