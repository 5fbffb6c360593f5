/**
 * The CIDRs of a VPC that the data plane must never send to (`PACKET_GATEWAY_VPC_CIDRS`): the
 * primary block and every secondary block associated in the same app.
 */
import { Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';

/**
 * The comma-separated CIDRs of `vpc`, resolved at synthesis: its primary block, plus the IPv4 and
 * IPv6 blocks of every `AWS::EC2::VPCCidrBlock` in the stack that names this VPC (secondary
 * blocks of an `ec2.Vpc`, a dual-stack VPC's Amazon-provided IPv6 block, blocks the app adds
 * itself). Blocks allocated from an IPAM pool without a literal CIDR are covered only for an
 * `ec2.Vpc` whose IPv6 blocks CloudFormation reports; blocks associated outside the app (console,
 * another stack) are not visible. Undefined when the VPC does not know its primary block (an
 * import without `vpcCidrBlock`). `consumer` (the resource whose property carries the value)
 * is made to depend on the IPv6 blocks found now, so their CIDRs exist when it reads them.
 */
export function vpcCidrsValue(vpc: ec2.IVpc, consumer: IConstruct): string | undefined {
  let primary: string;
  try {
    primary = vpc.vpcCidrBlock;
  } catch {
    return undefined;
  }
  for (const block of cidrBlocksOf(vpc)) {
    if (providesIpv6WithoutLiteral(block)) consumer.node.addDependency(block);
  }
  return Lazy.string({
    produce: () => {
      const cidrs = [primary];
      let ipv6WithoutLiteral = false;
      for (const block of cidrBlocksOf(vpc)) {
        if (block.cidrBlock) cidrs.push(block.cidrBlock);
        if (block.ipv6CidrBlock) cidrs.push(block.ipv6CidrBlock);
        else if (providesIpv6WithoutLiteral(block)) ipv6WithoutLiteral = true;
      }
      if (ipv6WithoutLiteral && vpc instanceof ec2.Vpc) cidrs.push(Fn.join(',', vpc.vpcIpv6CidrBlocks));
      return cidrs.length === 1 ? primary : Fn.join(',', cidrs);
    },
  });
}

function providesIpv6WithoutLiteral(block: ec2.CfnVPCCidrBlock): boolean {
  if (block.ipv6CidrBlock !== undefined) return false;
  return block.amazonProvidedIpv6CidrBlock !== undefined || block.ipv6IpamPoolId !== undefined || block.ipv6Pool !== undefined;
}

/** The `AWS::EC2::VPCCidrBlock` resources of the VPC's stack that name the VPC. */
function cidrBlocksOf(vpc: ec2.IVpc): ec2.CfnVPCCidrBlock[] {
  const stack = Stack.of(vpc);
  const vpcId = Token.isUnresolved(vpc.vpcId) ? JSON.stringify(stack.resolve(vpc.vpcId)) : vpc.vpcId;
  return stack.node.findAll().filter((c): c is ec2.CfnVPCCidrBlock => c instanceof ec2.CfnVPCCidrBlock
    && (Token.isUnresolved(c.vpcId) ? JSON.stringify(stack.resolve(c.vpcId)) : c.vpcId) === vpcId);
}
