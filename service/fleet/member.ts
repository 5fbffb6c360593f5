/**
 * Who this fleet member is: its memberId and the private address other members reach its relay
 * at. Inside ECS both come from the task metadata endpoint v4 (`/task`: the task ARN's last
 * segment and the container's first awsvpc IPv4 address); outside ECS (the fleet lab, a host of
 * your own) from PACKET_GATEWAY_MEMBER_ADDRESS and PACKET_GATEWAY_MEMBER_ID.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ServiceEnvironment } from '../../lib/private/service-environment';

/** This member as the fleet knows it. */
export interface MemberIdentity {
  /** The ECS task id (or PACKET_GATEWAY_MEMBER_ID, or a random id). */
  readonly memberId: string;
  /** Private IPv4 address other members send relay datagrams to. */
  readonly address: string;
}

/** The parts of the task metadata v4 `/task` document read here. */
interface TaskMetadata {
  readonly TaskARN?: unknown;
  readonly Containers?: ReadonlyArray<{ readonly Networks?: ReadonlyArray<{ readonly IPv4Addresses?: readonly unknown[] }> }>;
}

/** The ECS task metadata endpoint v4, set by ECS in every container. */
export const ECS_METADATA_URI_VARIABLE = 'ECS_CONTAINER_METADATA_URI_V4';

/** How long the metadata endpoint may take to answer. */
const METADATA_TIMEOUT_MS = 3_000;

/** memberId characters: those of an ECS task id, and of names used outside ECS. */
const MEMBER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Resolves this member's identity from `env`: the explicit variables win, then the ECS task
 * metadata endpoint. Rejects, naming the variables, when no address can be found.
 */
export async function resolveMemberIdentity(env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): Promise<MemberIdentity> {
  const givenId = env[ServiceEnvironment.MemberId];
  if (givenId !== undefined && !MEMBER_ID.test(givenId)) {
    throw new Error(`${ServiceEnvironment.MemberId} ${JSON.stringify(givenId)} is not a member id (allowed: 1–64 characters of A-Z a-z 0-9 . _ -)`);
  }
  const givenAddress = env[ServiceEnvironment.MemberAddress];
  if (givenAddress !== undefined && !isIPv4(givenAddress)) {
    throw new Error(`${ServiceEnvironment.MemberAddress} ${JSON.stringify(givenAddress)} is not an IPv4 address (allowed: the member's private IPv4 address)`);
  }
  const metadataUri = env[ECS_METADATA_URI_VARIABLE];
  if (givenAddress !== undefined && (givenId !== undefined || metadataUri === undefined)) {
    return { memberId: givenId ?? randomMemberId(), address: givenAddress };
  }
  if (metadataUri === undefined) {
    throw new Error(`the fleet relay needs this member's private address: set ${ServiceEnvironment.MemberAddress} (outside ECS) or run in ECS (${ECS_METADATA_URI_VARIABLE})`);
  }
  const task = await readTaskMetadata(metadataUri, fetchImpl);
  const fromTask = identityFromTaskMetadata(task);
  return { memberId: givenId ?? fromTask.memberId, address: givenAddress ?? fromTask.address };
}

/** memberId and address from a task metadata v4 `/task` document; throws naming the missing field. */
export function identityFromTaskMetadata(task: unknown): MemberIdentity {
  const doc = (typeof task === 'object' && task !== null ? task : {}) as TaskMetadata;
  const arn = doc.TaskARN;
  if (typeof arn !== 'string' || !arn.includes('/')) {
    throw new Error(`task metadata TaskARN ${JSON.stringify(arn)} is not a task ARN (expected arn:aws:ecs:<region>:<account>:task/<cluster>/<task id>)`);
  }
  const memberId = arn.slice(arn.lastIndexOf('/') + 1);
  if (!MEMBER_ID.test(memberId)) throw new Error(`task metadata TaskARN ${JSON.stringify(arn)} does not end in a task id`);
  for (const container of doc.Containers ?? []) {
    for (const network of container.Networks ?? []) {
      const address = network.IPv4Addresses?.find((a): a is string => typeof a === 'string' && isIPv4(a));
      if (address) return { memberId, address };
    }
  }
  throw new Error('task metadata has no IPv4 address in Containers[].Networks[].IPv4Addresses (the task must use awsvpc networking)');
}

/** The task metadata v4 `/task` document at `uri` (the value of ECS_CONTAINER_METADATA_URI_V4); rejects naming the URL. */
export async function readTaskMetadata(uri: string, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const url = `${uri.replace(/\/+$/, '')}/task`;
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`task metadata endpoint ${url} did not answer: ${(err as Error).message}`);
  }
  if (!response.ok) throw new Error(`task metadata endpoint ${url} answered HTTP ${response.status}`);
  try {
    return await response.json();
  } catch (err) {
    throw new Error(`task metadata endpoint ${url} answered with a body that is not JSON: ${(err as Error).message}`);
  }
}

function randomMemberId(): string {
  return `m-${randomBytes(6).toString('hex')}`;
}
