import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SECRET_NAME } from './private/limits';
import { sdkLookup } from './private/sdk-lookup';
import { fail } from './private/validation';

/** Properties of a {@link WireGuardKeyReplica}. */
export interface WireGuardKeyReplicaProps {
  /**
   * Name of the replicated secret: the `privateKeySecretName` of the WireGuard Listener whose
   * generated key has this stack's region among its `privateKeyReplicaRegions`.
   */
  readonly secretName: string;
}

/**
 * The replica, in this stack's region, of a WireGuard Listener's key secret that another region's
 * gateway generated and replicates (`privateKeyReplicaRegions`). Pass `secret` as the `privateKey`
 * of the same Listener in this region's gateway: every region then serves the same public key, so
 * a peer's configuration does not depend on the region Global Accelerator sends it to.
 *
 * The complete ARN of the replica (which the fleet needs to read a pinned version) is read at
 * deploy time with `secretsmanager:DescribeSecret`; deploy the stack that holds the primary secret
 * first (`stack.addDependency(primaryStack)`). No key material passes through the template.
 */
export class WireGuardKeyReplica extends Construct {
  /** The replica secret, by complete ARN. */
  public readonly secret: secretsmanager.ISecret;

  /** Complete ARN of the replica. */
  public readonly secretArn: string;

  constructor(scope: Construct, id: string, props: WireGuardKeyReplicaProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.secretName) && !SECRET_NAME.pattern.test(props.secretName)) {
      fail(this, `secretName must be ${SECRET_NAME.allowed}, got ${JSON.stringify(props.secretName)}`);
    }
    const stack = Stack.of(this);
    const partialArn = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${props.secretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.secretArn = sdkLookup(this, 'Lookup', {
      service: 'SecretsManager',
      action: 'describeSecret',
      parameters: { SecretId: props.secretName },
      field: 'ARN',
      resources: [partialArn],
      physicalId: `wireguard-key-replica:${props.secretName}`,
    });
    this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', this.secretArn);
  }
}
