/**
 * Credentials of destination roles: a destination with a `Role` is delivered to with the
 * credentials of that role, assumed through STS `AssumeRole` with the record's ExternalId. One
 * cached session per role and ExternalId, shared by every destination that names them. Only the
 * first delivery waits for STS: from {@link REFRESH_BEFORE_EXPIRY_MS} before expiry a new session
 * is requested in the background while the current one keeps signing; a delivery waits again only
 * when the session has actually expired (STS unreachable for the whole refresh window).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { DestinationRoleRecord } from '../../lib/private/records';

/** A session is renewed this long before it expires. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** A session is not used for signing in its last this-many milliseconds (requests in flight must still be valid when they arrive). */
export const EXPIRY_MARGIN_MS = 30_000;
/** Lifetime asked of STS, seconds (the longest every role allows without raising MaxSessionDuration). */
export const SESSION_DURATION_SECONDS = 3600;
/** Name of the gateway's sessions in the role's CloudTrail records. */
export const ROLE_SESSION_NAME = 'packet-gateway-destination';
/** After a failed background renewal, the next one is tried no sooner than this. */
const RETRY_AFTER_MS = 10_000;

export interface RoleCredentialsOptions {
  /** The STS client, created on first use. */
  readonly sts: () => STSClient;
  readonly logger?: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Credential providers per destination role (role ARN and ExternalId). */
export class RoleCredentials {
  private readonly sessions = new Map<string, AssumedRoleSession>();

  public constructor(private readonly options: RoleCredentialsOptions) {}

  /** The provider of `role`'s credentials: the same provider (and cached session) for the same role and ExternalId. */
  public provider(role: DestinationRoleRecord): AwsCredentialIdentityProvider {
    const key = `${role.Arn}\n${role.ExternalId ?? ''}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = new AssumedRoleSession(role, this.options);
      this.sessions.set(key, session);
    }
    const s = session;
    return () => s.credentials();
  }
}

class AssumedRoleSession {
  private current?: AwsCredentialIdentity & { readonly expiration: Date };
  private renewing?: Promise<AwsCredentialIdentity & { readonly expiration: Date }>;
  private retryAt = 0;
  private readonly now: () => number;

  public constructor(private readonly role: DestinationRoleRecord, private readonly options: RoleCredentialsOptions) {
    this.now = options.now ?? Date.now;
  }

  public credentials(): Promise<AwsCredentialIdentity> {
    const now = this.now();
    const current = this.current;
    if (current && now < current.expiration.getTime() - EXPIRY_MARGIN_MS) {
      if (now >= current.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS && !this.renewing && now >= this.retryAt) {
        this.renew().catch((err) => {
          this.retryAt = this.now() + RETRY_AFTER_MS;
          this.options.logger?.warn('destination role session not renewed; the current one is used until it expires', {
            role: this.role.Arn,
            expiration: current.expiration.toISOString(),
            error: (err as Error)?.message ?? String(err),
          });
        });
      }
      return Promise.resolve(current);
    }
    return this.renewing ?? this.renew();
  }

  private renew(): Promise<AwsCredentialIdentity & { readonly expiration: Date }> {
    const renewing = this.assume().finally(() => {
      if (this.renewing === renewing) this.renewing = undefined;
    });
    this.renewing = renewing;
    return renewing;
  }

  private async assume(): Promise<AwsCredentialIdentity & { readonly expiration: Date }> {
    const { Arn: roleArn, ExternalId: externalId } = this.role;
    let out;
    try {
      out = await this.options.sts().send(new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: ROLE_SESSION_NAME,
        DurationSeconds: SESSION_DURATION_SECONDS,
        ...(externalId !== undefined ? { ExternalId: externalId } : {}),
      }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      throw new Error(`the gateway could not assume the destination's Role ${roleArn} (${e?.name ?? 'Error'}: ${e?.message ?? String(err)}): `
        + 'its trust policy must allow sts:AssumeRole to the gateway fleet\'s role'
        + (externalId !== undefined ? ` with condition sts:ExternalId equal to ${externalId}` : ''));
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.Expiration) {
      throw new Error(`AssumeRole of ${roleArn} answered without credentials`);
    }
    const credentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(c.Expiration),
    };
    this.current = credentials;
    return credentials;
  }
}
