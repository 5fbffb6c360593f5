/**
 * The WireGuard side of a Listener: its key pair (a Secrets Manager secret plus the
 * `Custom::PacketGatewayWireGuardKey` resource that fills it or reads it), the ECS secrets that
 * carry the private key and the peers' preshared keys into the fleet, the validation of peers,
 * and the `WireGuard` part of the Listener record. Key material never appears in the template:
 * the record and the task definition only name environment variables and secret versions.
 */
import { CustomResource, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import { SECRET_NAME, WIREGUARD_KEY } from './limits';
import { ListenerHost } from './listener-host';
import { acknowledgeNagFindings } from './nag';
import { cidrProblem, ENDPOINT_ALLOWED, isEndpoint } from './network';
import type { WireGuardPeerRecord, WireGuardRecord } from './records';
import {
  WIREGUARD_KEY_ENVIRONMENT_PREFIX, WIREGUARD_KEY_RESOURCE_TYPE, WIREGUARD_PRESHARED_KEY_ENVIRONMENT_PREFIX,
  WireGuardKeyAttribute, WireGuardKeyProperty, WireGuardKeySource,
} from './resource-properties';
import { fail, validateInteger, validateRegion } from './validation';
import type { WireGuardPeer } from '../wireguard-peer';

/** The WireGuard options of a Listener (the `ListenerOptions` fields of the same names). */
export interface WireGuardOptions {
  readonly wireGuardPeers?: WireGuardPeer[];
  readonly allowUnknownPeers?: boolean;
  readonly decapsulatedDelivery?: boolean;
  readonly privateKey?: secretsmanager.ISecret;
  readonly privateKeyGeneration?: number;
  readonly privateKeyReplicaRegions?: string[];
  readonly privateKeySecretName?: string;
}

/** Names of the options that only WireGuard Listeners take. */
const WIREGUARD_OPTIONS: ReadonlyArray<keyof WireGuardOptions> = [
  'wireGuardPeers', 'allowUnknownPeers', 'decapsulatedDelivery', 'privateKey', 'privateKeyGeneration',
  'privateKeyReplicaRegions', 'privateKeySecretName',
];

/** Fails when a plain UDP Listener is given an option that only WireGuard Listeners take. */
export function validateNoWireGuardOptions(scope: IConstruct, protocol: string, options: WireGuardOptions): void {
  const given = WIREGUARD_OPTIONS.filter((name) => options[name] !== undefined);
  if (given.length === 0) return;
  fail(scope, `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} only to WireGuard Listeners, got protocol ${protocol}; `
    + 'remove it or set protocol: ListenerProtocol.WIREGUARD');
}

/** The parts of the Listener this module works with. */
export interface WireGuardListenerScope extends IConstruct {
  readonly listenerName: string;
}

/** A WireGuard Listener's keys, peers and record. */
export class ListenerWireGuard {
  /** The Listener's public key (an attribute of the key resource). */
  public readonly publicKey: string;
  /** The secret holding the private key. */
  public readonly privateKeySecret: secretsmanager.ISecret;
  /** The `Custom::PacketGatewayWireGuardKey` resource. */
  public readonly keyResource: CustomResource;

  private readonly keyVariable: string;
  private readonly peers: Array<{ readonly peer: WireGuardPeer; readonly presharedKeyVariable?: string }> = [];
  private readonly presharedKeyVariables = new Map<secretsmanager.ISecret, string>();
  private readonly variableStem: string;

  constructor(
    private readonly listener: WireGuardListenerScope,
    private readonly host: Pick<ListenerHost, 'serviceToken' | 'registrationGrantee' | 'addSecretVariable' | 'keyRemovalPolicy'>,
    private readonly options: WireGuardOptions,
  ) {
    const generation = options.privateKeyGeneration ?? 1;
    validateInteger(listener, 'privateKeyGeneration', generation, 0, 2_147_483_647);
    if (options.privateKey && options.privateKey.secretFullArn === undefined) {
      fail(listener, 'privateKey must be a secret with a complete ARN (the fleet reads a pinned version of it, which ECS addresses by complete ARN): '
        + 'create the secret in a stack or import it with Secret.fromSecretCompleteArn(), not by name or partial ARN');
    }
    validateKeyReplication(listener, options);
    this.variableStem = environmentStem(listener);

    const registrationRole = host.registrationGrantee;
    let grant: iam.Grant;
    if (options.privateKey) {
      this.privateKeySecret = options.privateKey;
      grant = options.privateKey.grantRead(registrationRole);
    } else {
      // Created with a placeholder the handler replaces before any task reads the secret: 32
      // characters, which can never be mistaken for a WireGuard key (44). The key itself is
      // generated in the registration function and never appears in the template.
      const secret = new secretsmanager.Secret(listener, 'PrivateKey', {
        description: `Packet Gateway: WireGuard private key of Listener ${listener.listenerName}, written by the gateway's registration function`,
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
        removalPolicy: host.keyRemovalPolicy,
        secretName: options.privateKeySecretName,
        replicaRegions: options.privateKeyReplicaRegions?.map((region) => ({ region })),
      });
      this.privateKeySecret = secret;
      grant = iam.Grant.addToPrincipal({
        grantee: registrationRole,
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resourceArns: [secret.secretArn],
      });
      acknowledgeNagFindings(secret, [{
        id: 'AwsSolutions-SMG4',
        reason: 'A WireGuard static private key cannot be rotated by a Secrets Manager rotation function: every peer pins the matching public key, '
          + 'so a new key must be rolled out to the peers with it. Change privateKeyGeneration to replace the key pair deliberately.',
      }]);
    }

    this.keyResource = new CustomResource(listener, 'KeyPair', {
      serviceToken: host.serviceToken,
      resourceType: WIREGUARD_KEY_RESOURCE_TYPE,
      properties: {
        [WireGuardKeyProperty.ListenerName]: listener.listenerName,
        [WireGuardKeyProperty.SecretArn]: this.privateKeySecret.secretArn,
        [WireGuardKeyProperty.KeySource]: options.privateKey ? WireGuardKeySource.Provided : WireGuardKeySource.Generated,
        [WireGuardKeyProperty.Generation]: generation,
      },
    });
    grant.applyBefore(this.keyResource);
    this.publicKey = this.keyResource.getAttString(WireGuardKeyAttribute.PublicKey);

    // The tasks read exactly the version the key resource reports, so they always hold the
    // private key of `publicKey`, and a new key pair rolls the fleet.
    const versionId = this.keyResource.getAttString(WireGuardKeyAttribute.VersionId);
    this.keyVariable = host.addSecretVariable(`${WIREGUARD_KEY_ENVIRONMENT_PREFIX}${this.variableStem}`, this.privateKeySecret, { versionId });

    for (const peer of options.wireGuardPeers ?? []) this.addPeer(peer);
  }

  /** Validates a peer, passes its preshared key to the fleet and adds it to the record. */
  public addPeer(peer: WireGuardPeer): void {
    const path = `wireGuardPeers[${this.peers.length}]`;
    validatePeer(this.listener, path, peer);
    if (!Token.isUnresolved(peer.publicKey)) {
      const index = this.peers.findIndex((p) => p.peer.publicKey === peer.publicKey);
      if (index >= 0) {
        fail(this.listener, `${path}.publicKey ${JSON.stringify(peer.publicKey)} is already the key of wireGuardPeers[${index}]; each peer key may appear once`);
      }
    }
    let presharedKeyVariable: string | undefined;
    if (peer.presharedKey) {
      presharedKeyVariable = this.presharedKeyVariables.get(peer.presharedKey);
      if (presharedKeyVariable === undefined) {
        presharedKeyVariable = this.host.addSecretVariable(`${WIREGUARD_PRESHARED_KEY_ENVIRONMENT_PREFIX}${this.variableStem}_${this.peers.length}`, peer.presharedKey);
        this.presharedKeyVariables.set(peer.presharedKey, presharedKeyVariable);
      }
    }
    this.peers.push({ peer, presharedKeyVariable });
  }

  /** Problems found when the app is synthesized (a Listener nobody may connect to). */
  public validate(): string[] {
    if (this.peers.length === 0 && this.options.allowUnknownPeers !== true) {
      return [`WireGuard Listener ${this.listener.listenerName} accepts no peer: pass wireGuardPeers, call addWireGuardPeer(), or set allowUnknownPeers: true`];
    }
    return [];
  }

  /** The `WireGuard` part of the Listener record: variable names, never keys. */
  public render(): WireGuardRecord {
    const peers = this.peers.map(({ peer, presharedKeyVariable }): WireGuardPeerRecord => ({
      PublicKey: peer.publicKey,
      ...(peer.allowedIps !== undefined ? { AllowedIPs: peer.allowedIps } : {}),
      ...(presharedKeyVariable !== undefined ? { PresharedKeyEnvironmentVariable: presharedKeyVariable } : {}),
      ...(peer.endpoint !== undefined ? { Endpoint: peer.endpoint } : {}),
    }));
    return {
      PrivateKeyEnvironmentVariable: this.keyVariable,
      PublicKey: this.publicKey,
      ...(peers.length > 0 ? { Peers: peers } : {}),
      ...(this.options.allowUnknownPeers !== undefined ? { AllowUnknownPeers: this.options.allowUnknownPeers } : {}),
      ...(this.options.decapsulatedDelivery !== undefined ? { DecapsulatedDelivery: this.options.decapsulatedDelivery } : {}),
    };
  }
}

/** The Listener's part of its environment variable names: its name in capitals, other characters as `_`. */
function environmentStem(listener: WireGuardListenerScope): string {
  const name = Token.isUnresolved(listener.listenerName) ? Names.uniqueId(listener) : listener.listenerName;
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Replicas and a secret name apply only to a generated key (a given `privateKey` is replicated by
 * its owner), replicas need the name the other regions find them by, and each replica region is a
 * region other than the Listener's own, named once.
 */
function validateKeyReplication(scope: IConstruct, options: WireGuardOptions): void {
  const regions = options.privateKeyReplicaRegions;
  const name = options.privateKeySecretName;
  if (options.privateKey && (regions !== undefined || name !== undefined)) {
    fail(scope, `${regions !== undefined ? 'privateKeyReplicaRegions' : 'privateKeySecretName'} applies only to a generated key, not with privateKey: `
      + 'replicate your own secret with its replicaRegions and pass each region its replica');
  }
  if (name !== undefined && !Token.isUnresolved(name) && !SECRET_NAME.pattern.test(name)) {
    fail(scope, `privateKeySecretName must be ${SECRET_NAME.allowed}, got ${JSON.stringify(name)}`);
  }
  if (regions === undefined || Token.isUnresolved(regions)) return;
  if (name === undefined) {
    fail(scope, 'privateKeyReplicaRegions needs privateKeySecretName: the gateways of the replica regions find the key by that name (WireGuardKeyReplica)');
  }
  const own = Stack.of(scope).region;
  regions.forEach((region, i) => {
    if (Token.isUnresolved(region)) return;
    validateRegion(scope, `privateKeyReplicaRegions[${i}]`, region);
    if (!Token.isUnresolved(own) && region === own) {
      fail(scope, `privateKeyReplicaRegions[${i}] ${JSON.stringify(region)} is the Listener's own region; list only the other regions`);
    }
    const first = regions.indexOf(region);
    if (first !== i) fail(scope, `privateKeyReplicaRegions[${i}] ${JSON.stringify(region)} is already privateKeyReplicaRegions[${first}]; name each region once`);
  });
}

function validatePeer(scope: IConstruct, path: string, peer: WireGuardPeer): void {
  if (!Token.isUnresolved(peer.publicKey) && !WIREGUARD_KEY.pattern.test(peer.publicKey)) {
    fail(scope, `${path}.publicKey must be a WireGuard public key: 32 bytes in base64 (44 characters, as printed by 'wg pubkey'), got ${JSON.stringify(peer.publicKey)}`);
  }
  if (peer.allowedIps !== undefined && !Token.isUnresolved(peer.allowedIps)) {
    if (peer.allowedIps.length === 0) {
      fail(scope, `${path}.allowedIps must hold at least one CIDR block (the inner addresses the peer may use, such as "10.10.0.2/32")`);
    }
    for (const cidr of peer.allowedIps) {
      if (Token.isUnresolved(cidr)) continue;
      const problem = cidrProblem(cidr);
      if (problem !== undefined) {
        fail(scope, `${path}.allowedIps must hold CIDR blocks such as "10.10.0.2/32" or "fd00:10::/64", got ${JSON.stringify(cidr)}: ${problem}`);
      }
    }
  }
  if (peer.endpoint !== undefined && !Token.isUnresolved(peer.endpoint) && !isEndpoint(peer.endpoint)) {
    fail(scope, `${path}.endpoint must be ${ENDPOINT_ALLOWED}, got ${JSON.stringify(peer.endpoint)}`);
  }
}
