/**
 * Acting as a PacketSource's role: the gateway writes a binding's failure records (delivery log
 * group, dead-letter queue) as the role the binding names (`RoleArn`, assumed with its
 * `ExternalId`), which the PacketSource construct allows to write them. The fleet itself has no
 * permission on other accounts' logs or queues.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/** Lifetime of assumed-role credentials; the SDK refreshes them 5 minutes before they expire. */
export const ROLE_SESSION_SECONDS = 900;

/** The role a binding's failure records are written as; without `roleArn`, the gateway's own credentials. */
export interface PacketSourceIdentity {
  readonly roleArn?: string;
  readonly externalId?: string;
}

/** Credentials as SDK clients take them; an expiration makes the client fetch them again shortly before it. */
export interface RoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type RoleCredentialsProvider = () => Promise<RoleCredentials>;

/**
 * Credentials of `roleArn`, assumed with `externalId` through `sts` (the gateway's own
 * credentials) in sessions named `sessionName`. An SDK client given this provider caches the
 * credentials until shortly before they expire.
 */
export function packetSourceRoleCredentials(
  sts: STSClient, roleArn: string, externalId: string | undefined, sessionName: string,
): RoleCredentialsProvider {
  return async (): Promise<RoleCredentials> => {
    const out = await sts.send(new AssumeRoleCommand({
      RoleArn: roleArn,
      ExternalId: externalId,
      RoleSessionName: sessionName,
      DurationSeconds: ROLE_SESSION_SECONDS,
    }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`STS returned no credentials for ${roleArn}`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
}

/** Key of a client cache: one client per region and identity. */
export function identityKey(region: string, identity: PacketSourceIdentity | undefined): string {
  return `${region}\u0000${identity?.roleArn ?? ''}\u0000${identity?.externalId ?? ''}`;
}
