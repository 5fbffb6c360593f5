/**
 * Resources that configure the gateway itself (`Custom::PacketGatewayListener`,
 * `Custom::PacketGatewayWireGuardKey`) are accepted from the gateway's own account only. Accounts
 * in `allowedAccounts` may invoke the service token to register PacketSources; a Listener or a
 * key from one of them would change the data plane every tenant shares (its ports, its keys, its
 * destinations).
 */
import type { RegistrationContext } from './context';
import { RegistrationError } from './errors';
import type { ResourceEvent } from './events';
import { parseArn, stackEnvironment } from '../../lib/private/arn';

/**
 * Throws unless the request comes from the gateway's account: the account of its StackId, and of
 * its ServiceToken when present, must be `ctx.gatewayAccount`.
 */
export function requireGatewayAccount(event: ResourceEvent, ctx: Pick<RegistrationContext, 'gatewayAccount'>): void {
  const stackAccount = stackEnvironment(event.StackId).account;
  const serviceToken = event.ResourceProperties.ServiceToken;
  const tokenAccount = typeof serviceToken === 'string' ? parseArn(serviceToken)?.account : undefined;
  for (const [what, account] of [['stack', stackAccount], ['ServiceToken', tokenAccount]] as const) {
    if (account !== undefined && account !== ctx.gatewayAccount) {
      throw new RegistrationError(`${event.ResourceType} is accepted from the gateway's own account ${ctx.gatewayAccount} only, `
        + `but the ${what} is in account ${account}. Other accounts in allowedAccounts may register PacketSources; `
        + 'Listeners and WireGuard keys are defined in the stack of the gateway.');
    }
  }
}
