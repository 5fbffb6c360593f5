/**
 * Acting as a PacketSource's role: the handler first assumes the gateway's registration
 * principal (restricted by a session policy to assuming PacketSource roles), then the PacketSource
 * role with its ExternalId. Freshly created roles take a few seconds to become assumable, so
 * AccessDenied is retried briefly before it is reported.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, Credentials, STSClient } from '@aws-sdk/client-sts';
import { awsErrorName, messageOf, RegistrationError } from './errors';
import { PACKET_SOURCE_ROLE_PATH } from '../../lib/private/resource-properties';

/** Limits the registration principal's session to assuming PacketSource roles. */
const SESSION_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:*:iam::*:role${PACKET_SOURCE_ROLE_PATH}*` }],
});

/** Delays between attempts while IAM propagates a new role or trust policy. */
export const ASSUME_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];

export interface RoleChainOptions {
  /** STS client with the handler's own credentials. */
  readonly sts: STSClient;
  readonly accessRoleArn: string;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Returns `snsAs(roleArn, externalId, region)`: an SNS client acting as the PacketSource role. */
export function roleChain(options: RoleChainOptions): (roleArn: string, externalId: string, region: string) => Promise<SNSClient> {
  return async (roleArn, externalId, region) => {
    const principal = await withRetries(options.sleep, () => options.sts.send(new AssumeRoleCommand({
      RoleArn: options.accessRoleArn,
      RoleSessionName: 'packet-gateway-registration',
      Policy: SESSION_POLICY,
      DurationSeconds: 900,
    })), (err) => `The registration handler could not assume the gateway's registration principal ${options.accessRoleArn}: ${messageOf(err)}`);
    const chained = new STSClient({ region, credentials: toCredentials(principal.Credentials) });
    const role = await withRetries(options.sleep, () => chained.send(new AssumeRoleCommand({
      RoleArn: roleArn,
      ExternalId: externalId,
      RoleSessionName: 'packet-gateway-registration',
      DurationSeconds: 900,
    })), (err) => `The gateway could not assume SnsTopicSource.Role ${roleArn}: its trust policy must allow sts:AssumeRole to the gateway's `
      + `registration principal ${options.accessRoleArn} with condition sts:ExternalId equal to SnsTopicSource.ExternalId, and it must be on the `
      + `${PACKET_SOURCE_ROLE_PATH} path (AWS said: ${messageOf(err)})`);
    return new SNSClient({ region, credentials: toCredentials(role.Credentials) });
  };
}

async function withRetries<T>(sleep: (ms: number) => Promise<void>, call: () => Promise<T>, explain: (err: unknown) => string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const name = awsErrorName(err);
      if ((name === 'AccessDenied' || name === 'AccessDeniedException') && attempt < ASSUME_RETRY_DELAYS_MS.length) {
        await sleep(ASSUME_RETRY_DELAYS_MS[attempt]);
        continue;
      }
      throw new RegistrationError(explain(err));
    }
  }
}

function toCredentials(credentials: Credentials | undefined) {
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) throw new RegistrationError('STS returned no credentials for an assumed role');
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration: credentials.Expiration,
  };
}
