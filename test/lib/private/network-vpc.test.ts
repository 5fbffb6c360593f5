import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { vpcCidrsValue } from '../../../lib/private/network-vpc';
import { testApp } from '../../support/cdk-app';

function setup(): { stack: Stack; consumer: Construct } {
  const stack = new Stack(testApp(), 'Stack', { env: { account: '111111111111', region: 'us-east-1' } });
  return { stack, consumer: new Construct(stack, 'Consumer') };
}

describe('vpcCidrsValue', () => {
  test('a VPC without secondary blocks gives its primary block only', () => {
    const { stack, consumer } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(stack.resolve(vpcCidrsValue(vpc, consumer))).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Vpc/), 'CidrBlock'] });
  });

  test('secondary IPv4 blocks are included, also when added after the value is taken', () => {
    const { stack, consumer } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    new ec2.CfnVPCCidrBlock(stack, 'Secondary', { vpcId: vpc.vpcId, cidrBlock: '100.64.0.0/16' });
    const value = vpcCidrsValue(vpc, consumer);
    new ec2.CfnVPCCidrBlock(stack, 'Later', { vpcId: vpc.vpcId, cidrBlock: '100.65.0.0/16' });
    const other = new ec2.Vpc(stack, 'Other');
    new ec2.CfnVPCCidrBlock(stack, 'OtherSecondary', { vpcId: other.vpcId, cidrBlock: '100.99.0.0/16' });
    expect(stack.resolve(value)).toEqual({
      'Fn::Join': [',', [{ 'Fn::GetAtt': [expect.stringMatching(/^Vpc/), 'CidrBlock'] }, '100.64.0.0/16,100.65.0.0/16']],
    });
  });

  test('a dual-stack VPC adds its Amazon-provided IPv6 blocks, and the consumer waits for them', () => {
    const { stack, consumer } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', { ipProtocol: ec2.IpProtocol.DUAL_STACK });
    const resolved = JSON.stringify(stack.resolve(vpcCidrsValue(vpc, consumer)));
    expect(resolved).toContain('"Ipv6CidrBlocks"');
    expect(resolved).toContain('"CidrBlock"');
    expect(consumer.node.dependencies.some((d) => d instanceof ec2.CfnVPCCidrBlock)).toBe(true);
  });

  test('an imported VPC gives its known block plus blocks the app associates with it; without a block, nothing', () => {
    const { stack, consumer } = setup();
    const imported = ec2.Vpc.fromVpcAttributes(stack, 'Imported', { vpcId: 'vpc-1234', availabilityZones: ['us-east-1a'], vpcCidrBlock: '10.1.0.0/16' });
    new ec2.CfnVPCCidrBlock(stack, 'Secondary', { vpcId: 'vpc-1234', cidrBlock: '10.2.0.0/16' });
    new ec2.CfnVPCCidrBlock(stack, 'V6', { vpcId: 'vpc-1234', ipv6CidrBlock: '2600:1f18::/56' });
    expect(stack.resolve(vpcCidrsValue(imported, consumer))).toBe('10.1.0.0/16,10.2.0.0/16,2600:1f18::/56');
    const unknown = ec2.Vpc.fromVpcAttributes(stack, 'Unknown', { vpcId: 'vpc-9', availabilityZones: ['us-east-1a'] });
    expect(vpcCidrsValue(unknown, consumer)).toBeUndefined();
  });
});
