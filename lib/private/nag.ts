import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One acknowledged cdk-nag finding: the rule id, why it is acceptable, and optionally which findings of the rule. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /** Finding ids (or `{ regex }`) the acknowledgement is limited to. @default - every finding of the rule on the resource */
  readonly appliesTo?: ReadonlyArray<string | { readonly regex: string }>;
}

interface CfnNagRule {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: ReadonlyArray<string | { readonly regex: string }>;
}

/**
 * Records cdk-nag acknowledgements on the CloudFormation resource of `construct` (its default child
 * when it is an L2), in the `cdk_nag` metadata that cdk-nag reads. The library does not depend on
 * cdk-nag at run time: this writes the same metadata its `NagSuppressions` API would.
 */
export function acknowledgeNagFindings(
  construct: IConstruct, acknowledgements: readonly NagAcknowledgement[], options: { readonly applyToChildren?: boolean } = {},
): void {
  const targets = options.applyToChildren ? construct.node.findAll() : [construct];
  for (const target of targets) {
    const resource = target.node.defaultChild ?? target;
    if (!CfnResource.isCfnResource(resource)) continue;
    const existing = (resource.getMetadata('cdk_nag') as { rules_to_suppress?: CfnNagRule[] } | undefined)?.rules_to_suppress ?? [];
    const rules = [...existing];
    for (const ack of acknowledgements) {
      const rule: CfnNagRule = ack.appliesTo ? { id: ack.id, reason: ack.reason, applies_to: ack.appliesTo } : { id: ack.id, reason: ack.reason };
      if (!rules.some((r) => JSON.stringify(r) === JSON.stringify(rule))) rules.push(rule);
    }
    resource.addMetadata('cdk_nag', { rules_to_suppress: rules });
  }
}
