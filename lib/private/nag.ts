import { CfnResource, Stack, Token } from 'aws-cdk-lib';
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

/**
 * How cdk-nag names `value` (an ARN or a reference to one) in a finding id such as
 * `Resource::<value>:*`: a literal as is, a `Ref` as `<LogicalId>`, a `Fn::GetAtt` as
 * `<LogicalId.Attribute>`. Undefined for other tokens, which an exact acknowledgement cannot name.
 */
export function nagFindingName(scope: IConstruct, value: string): string | undefined {
  if (!Token.isUnresolved(value)) return value;
  const resolved = Stack.of(scope).resolve(value) as { 'Ref'?: unknown; 'Fn::GetAtt'?: unknown } | undefined;
  if (typeof resolved?.Ref === 'string') return `<${resolved.Ref}>`;
  const getAtt = resolved?.['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt.length === 2 && getAtt.every((part) => typeof part === 'string')) return `<${getAtt[0]}.${getAtt[1]}>`;
  return undefined;
}
