/**
 * The Listener fleet's shared contract (docs/FLEET.md): the relay port between members and the
 * directory items members keep in the fleet's directory table (a table of its own, apart from the
 * configuration table). The construct opens the port, creates the table and scopes the task role
 * to the key prefixes; the data plane uses all three. Pure: no CDK import.
 */

/** Default UDP port of the relay between fleet members. */
export const DEFAULT_RELAY_PORT = 7470;

/** Partition key attribute of the directory table. */
export const DIRECTORY_PARTITION_KEY = 'pk';

/** Partition key prefix of a flow's directory item: `flow#<listener>#<address>#<port>`. */
export const FLOW_KEY_PREFIX = 'flow#';
/** Partition key prefix of a WireGuard peer's directory item: `peer#<listener>#<peerKey>`. */
export const PEER_KEY_PREFIX = 'peer#';
/** Partition key prefix of a member item: `member#<memberId>`. */
export const MEMBER_KEY_PREFIX = 'member#';
/** Every directory key prefix (the task role may write only items whose key starts with one of these). */
export const DIRECTORY_KEY_PREFIXES: readonly string[] = [FLOW_KEY_PREFIX, PEER_KEY_PREFIX, MEMBER_KEY_PREFIX];

/** Attribute of directory items holding the owner's memberId. */
export const OWNER_MEMBER_ATTRIBUTE = 'member';
/**
 * Attribute of flow and peer items holding the region of the owner (written when the directory
 * table is a global table shared by several regions' fleets: docs/FLEET.md "Global"). A member
 * relays only to owners of its own region.
 */
export const OWNER_REGION_ATTRIBUTE = 'region';
/** Attribute of member items holding `address:relayPort`. */
export const RELAY_ENDPOINT_ATTRIBUTE = 'relay';
/** Attribute holding the epoch seconds after which DynamoDB deletes the item (the table's TTL attribute). */
export const EXPIRES_AT_ATTRIBUTE = 'expiresAt';
/** Attribute holding the epoch milliseconds at which the item was written. */
export const SINCE_ATTRIBUTE = 'since';
/** Attribute of a WireGuard Listener's flow items: the public key of the peer that spoke from the flow's address and port. */
export const PEER_KEY_ATTRIBUTE = 'peerKey';
/** Attribute of peer items: `address:port` of the peer's endpoint when its session was established. */
export const ENDPOINT_ATTRIBUTE = 'endpoint';

/** The directory key of a flow. */
export function flowItemKey(listener: string, address: string, port: number): string {
  return `${FLOW_KEY_PREFIX}${listener}#${address}#${port}`;
}

/** The directory key of a WireGuard peer. */
export function peerItemKey(listener: string, peerKey: string): string {
  return `${PEER_KEY_PREFIX}${listener}#${peerKey}`;
}

/** The key of a member item. */
export function memberItemKey(memberId: string): string {
  return `${MEMBER_KEY_PREFIX}${memberId}`;
}
