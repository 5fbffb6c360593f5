/**
 * WireGuard key settings of a deployed gateway's Listener records (the registration function
 * refuses the rest): no key in plain text, which would sit in the template, the stack and the
 * table item (`PrivateKey` and an inline `Peers[].PresharedKey` are for local configuration
 * files), and a private key the fleet can load (a task has no key file to generate one into).
 */
import { WIREGUARD_KEY } from './limits';

/** Where a deployed Listener's private key may come from, as error messages name them. */
const DEPLOYED_PRIVATE_KEY_SOURCES = 'PrivateKeyEnvironmentVariable (an ECS secret of the fleet, as the constructs pass it) or PrivateKeySecretArn';

/**
 * One message per WireGuard key setting of `record` that a deployed gateway must not or cannot
 * use, each naming the field and what is allowed; empty when there is none (and for a record
 * without `WireGuard`). `path` prefixes the field paths (as in `Configuration.WireGuard.PrivateKey`).
 * The record is expected to have passed validateListenerRecord.
 */
export function deployedWireGuardKeyErrors(record: { readonly WireGuard?: unknown }, path: string): string[] {
  const wg = record.WireGuard as {
    readonly PrivateKey?: unknown;
    readonly PrivateKeySecretArn?: unknown;
    readonly PrivateKeyEnvironmentVariable?: unknown;
    readonly Peers?: ReadonlyArray<{ readonly PresharedKey?: unknown } | null>;
  } | undefined;
  if (wg === undefined || wg === null || typeof wg !== 'object') return [];
  const errors: string[] = [];
  const at = `${path}.WireGuard`;
  if (wg.PrivateKey !== undefined) {
    errors.push(`${at}.PrivateKey: a private key in plain text is for local configuration files only; a deployed gateway refuses it `
      + `(allowed: ${DEPLOYED_PRIVATE_KEY_SOURCES})`);
  } else if (wg.PrivateKeySecretArn === undefined && wg.PrivateKeyEnvironmentVariable === undefined) {
    errors.push(`${at}: no private key source, so the Listener could never start in the fleet (allowed: ${DEPLOYED_PRIVATE_KEY_SOURCES})`);
  }
  (Array.isArray(wg.Peers) ? wg.Peers : []).forEach((peer, index) => {
    const key = peer?.PresharedKey;
    if (typeof key === 'string' && WIREGUARD_KEY.pattern.test(key)) {
      errors.push(`${at}.Peers[${index}].PresharedKey: a preshared key in plain text is for local configuration files only; a deployed gateway refuses it `
        + '(allowed: PresharedKeyEnvironmentVariable, or PresharedKey as the ARN of a Secrets Manager secret)');
    }
  });
  return errors;
}
