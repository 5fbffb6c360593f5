/**
 * Whether a suite that needs the machine's lab prerequisites (root, network namespaces, nftables,
 * conntrack, wireguard-go) runs here. CI sets `PACKET_GATEWAY_REQUIRE_FLEET=1` and
 * `PACKET_GATEWAY_REQUIRE_INTEROP=1`: there a missing prerequisite fails the suite instead of
 * skipping it. Elsewhere the suite is skipped with its reason printed.
 */

/** The environment variables that turn a missing prerequisite into a failure. */
export type LabRequirement = 'PACKET_GATEWAY_REQUIRE_FLEET' | 'PACKET_GATEWAY_REQUIRE_INTEROP';

export interface LabSuite {
  /** `describe`, or `describe.skip` when the suite cannot run here. */
  readonly describe: jest.Describe;
  /** Why the suite is skipped, or undefined when it runs. */
  readonly skipReason?: string;
}

/**
 * `suite`: the suite's name in messages; `missing`: the missing prerequisite, if any (a failure
 * where one of `requiredBy` is `1`); `notHere`: a reason to skip that no requirement turns into a
 * failure (e.g. a runtime the suite needs, which CI runs it on in another pass).
 */
export function labSuite(suite: string, missing: string | undefined, requiredBy: readonly LabRequirement[], notHere?: string): LabSuite {
  const required = requiredBy.filter((name) => process.env[name] === '1');
  if (missing && required.length > 0) {
    throw new Error(`${suite} cannot run but ${required.join(' and ')} is 1: ${missing}`);
  }
  const skipReason = missing ?? notHere;
  if (skipReason) console.warn(`${suite} skipped: ${skipReason}`);
  return { describe: skipReason ? describe.skip : describe, skipReason };
}
