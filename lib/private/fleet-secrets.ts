/**
 * Secrets passed to the data-plane container as environment variables (ECS secrets: values never
 * appear in the task definition), one secret per variable.
 */
import { Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import { ENVIRONMENT_VARIABLE_NAME } from './limits';
import { FleetSecretOptions } from './listener-host';
import { fail } from './validation';

/** The secret environment variables of the fleet's container. */
export class FleetSecrets {
  private readonly names: Set<string>;

  /**
   * @param scope construct named in errors (the gateway)
   * @param container the data-plane container
   * @param reservedNames variables that already carry a secret
   */
  constructor(private readonly scope: IConstruct, private readonly container: ecs.ContainerDefinition, reservedNames: readonly string[]) {
    this.names = new Set(reservedNames);
  }

  /** Passes `secret` in variable `name`; fails when `name` is not a variable name or already carries a secret. */
  public add(name: string, secret: secretsmanager.ISecret, options: FleetSecretOptions = {}): void {
    if (!Token.isUnresolved(name) && !ENVIRONMENT_VARIABLE_NAME.pattern.test(name)) {
      fail(this.scope, `addSecretEnvironment: name must be an environment variable name (A-Z, a-z, 0-9 and _, not starting with a digit), got ${JSON.stringify(name)}`);
    }
    if (this.names.has(name)) {
      fail(this.scope, `addSecretEnvironment: environment variable ${name} already carries a secret of the data plane; each variable carries one secret`);
    }
    if (options.versionId !== undefined && secret.secretFullArn === undefined) {
      fail(this.scope, `addSecretEnvironment: versionId needs a secret with a complete ARN (ECS addresses versions by complete ARN); ${name} names a secret imported by name or partial ARN`);
    }
    this.names.add(name);
    const value = options.versionId !== undefined
      ? ecs.Secret.fromSecretsManagerVersion(secret, { versionId: options.versionId }, options.field)
      : ecs.Secret.fromSecretsManager(secret, options.field);
    this.container.addSecret(name, value);
  }

  /** Passes `secret` in the first free variable among `baseName`, `baseName_2`, `baseName_3`…, and returns its name. */
  public addUnderFreeName(baseName: string, secret: secretsmanager.ISecret, options: FleetSecretOptions = {}): string {
    const name = this.freeName(baseName);
    this.add(name, secret, options);
    return name;
  }

  private freeName(base: string): string {
    if (!this.names.has(base)) return base;
    for (let n = 2; ; n++) {
      const candidate = `${base}_${n}`;
      if (!this.names.has(candidate)) return candidate;
    }
  }
}
