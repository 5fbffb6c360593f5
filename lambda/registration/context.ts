/**
 * What the registration functions work with: the gateway's tables and delivery queues, the record
 * store, a way to act as a PacketSource's role, Secrets Manager (WireGuard keys), a clock and a
 * logger. Built once per process from
 * the environment (index.ts); tests build their own.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { RecordStore } from './record-store';
import { IAM_ROLE_ARN, parseArn } from '../../lib/private/arn';
import { matches } from '../../lib/private/limits';
import { DeliveryTarget, REGISTRATION_RESOURCE_TYPES, RegistrationEnvironment } from '../../lib/private/resource-properties';

/** Structured logger (Powertools Logger satisfies it). */
export interface RegistrationLogger {
  info(message: string, ...extra: Array<Record<string, unknown>>): void;
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
}

/** Settings read from the environment. */
export interface RegistrationSettings {
  /** The gateway regions, home first: delivery queue and table of each. */
  readonly targets: readonly DeliveryTarget[];
  /** The registration principal, assumed before a PacketSource's role. */
  readonly accessRoleArn: string;
  /** How long subscriptions may stay pending before the registration fails. */
  readonly confirmationTimeoutMs: number;
  /**
   * The gateway's own AWS account: the account of the registration principal, which the gateway's
   * stack creates. Listener and WireGuard key resources are accepted from this account only.
   */
  readonly gatewayAccount: string;
  /**
   * The resource types this function instance serves; others are refused (their Deletes succeed
   * without touching anything). The instance behind the service token of other accounts serves
   * `Custom::PacketGatewayPacketSource` only, so a request it receives can never change a Listener
   * or a key, whatever StackId it claims.
   * @default - every type
   */
  readonly servedResourceTypes?: readonly string[];
}

export interface RegistrationContext extends RegistrationSettings {
  readonly store: RecordStore;
  /** An SNS client of `region` acting as `roleArn` (assumed with `externalId`). */
  readonly snsAs: (roleArn: string, externalId: string, region: string) => Promise<SNSClient>;
  /** Secrets Manager of the gateway's region, as the registration function (WireGuard Listener keys). */
  readonly secrets: SecretsManagerClient;
  readonly logger: RegistrationLogger;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Reads the settings; throws naming the variable when one is missing or malformed. */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv): RegistrationSettings {
  const read = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  let targets: unknown;
  try {
    targets = JSON.parse(read(RegistrationEnvironment.DeliveryTargets));
  } catch (err) {
    throw new Error(`environment variable ${RegistrationEnvironment.DeliveryTargets} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every(isTarget)) {
    throw new Error(`environment variable ${RegistrationEnvironment.DeliveryTargets} must be a non-empty JSON array of {Region, QueueArn, TableName}`);
  }
  const timeout = Number(env[RegistrationEnvironment.ConfirmationTimeoutSeconds] ?? '720');
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new Error(`environment variable ${RegistrationEnvironment.ConfirmationTimeoutSeconds} must be a positive number of seconds`);
  }
  const accessRoleArn = read(RegistrationEnvironment.AccessRoleArn);
  const accessRole = matches(accessRoleArn, IAM_ROLE_ARN) ? parseArn(accessRoleArn) : undefined;
  if (!accessRole) {
    throw new Error(`environment variable ${RegistrationEnvironment.AccessRoleArn} must be an IAM role ARN (${IAM_ROLE_ARN.allowed}), got ${JSON.stringify(accessRoleArn)}`);
  }
  return {
    targets: targets as DeliveryTarget[],
    accessRoleArn,
    confirmationTimeoutMs: timeout * 1000,
    gatewayAccount: accessRole.account,
    servedResourceTypes: servedResourceTypes(env[RegistrationEnvironment.ServedResourceTypes]),
  };
}

function servedResourceTypes(value: string | undefined): readonly string[] | undefined {
  if (value === undefined || value === '') return undefined;
  const problem = `environment variable ${RegistrationEnvironment.ServedResourceTypes} must be a non-empty JSON array of resource types `
    + `(allowed: ${REGISTRATION_RESOURCE_TYPES.join(', ')})`;
  let types: unknown;
  try {
    types = JSON.parse(value);
  } catch {
    throw new Error(`${problem}, got ${JSON.stringify(value)}`);
  }
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === 'string' && REGISTRATION_RESOURCE_TYPES.includes(t))) {
    throw new Error(`${problem}, got ${value}`);
  }
  return types as string[];
}

function isTarget(value: unknown): value is DeliveryTarget {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return typeof t.Region === 'string' && typeof t.QueueArn === 'string' && typeof t.TableName === 'string';
}
