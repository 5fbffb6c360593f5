import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { identityFromTaskMetadata, resolveMemberIdentity } from '../../../service/fleet/member';

/** Shape of a task metadata v4 `/task` document of a Fargate task (trimmed, recorded fields). */
const TASK_DOCUMENT = {
  Cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/packet-gateway',
  TaskARN: 'arn:aws:ecs:eu-west-1:111122223333:task/packet-gateway/5f8c6c2ab8e44c6c9f9b4d2a0b1e7f31',
  Family: 'PacketGatewayTaskDef',
  Revision: '7',
  DesiredStatus: 'RUNNING',
  KnownStatus: 'RUNNING',
  Containers: [{
    DockerId: '5f8c6c2ab8e44c6c9f9b4d2a0b1e7f31-1234567890',
    Name: 'gateway',
    Networks: [{ NetworkMode: 'awsvpc', IPv4Addresses: ['10.0.1.57'], AttachmentIndex: 0, IPv4SubnetCIDRBlock: '10.0.1.0/24' }],
  }],
  LaunchType: 'FARGATE',
  AvailabilityZone: 'eu-west-1a',
};

describe('member identity', () => {
  let server: Server;
  let uri: string;
  let served: unknown = TASK_DOCUMENT;
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url !== '/v4/abc/task') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/abc`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('reads the task id and awsvpc address from the task metadata endpoint', async () => {
    served = TASK_DOCUMENT;
    const identity = await resolveMemberIdentity({ ECS_CONTAINER_METADATA_URI_V4: uri });
    expect(identity).toEqual({ memberId: '5f8c6c2ab8e44c6c9f9b4d2a0b1e7f31', address: '10.0.1.57' });
    expect(paths).toContain('/v4/abc/task');
  });

  test('an explicit address and id win outside ECS', async () => {
    await expect(resolveMemberIdentity({ PACKET_GATEWAY_MEMBER_ADDRESS: '10.20.0.11', PACKET_GATEWAY_MEMBER_ID: 't1' }))
      .resolves.toEqual({ memberId: 't1', address: '10.20.0.11' });
    const random = await resolveMemberIdentity({ PACKET_GATEWAY_MEMBER_ADDRESS: '10.20.0.12' });
    expect(random.address).toBe('10.20.0.12');
    expect(random.memberId).toMatch(/^m-[0-9a-f]{12}$/);
  });

  test('fails naming the variables when nothing gives an address', async () => {
    await expect(resolveMemberIdentity({})).rejects.toThrow(/PACKET_GATEWAY_MEMBER_ADDRESS.*ECS_CONTAINER_METADATA_URI_V4/);
    await expect(resolveMemberIdentity({ PACKET_GATEWAY_MEMBER_ADDRESS: 'host.local' })).rejects.toThrow(/"host.local" is not an IPv4 address/);
    await expect(resolveMemberIdentity({ PACKET_GATEWAY_MEMBER_ADDRESS: '10.0.0.1', PACKET_GATEWAY_MEMBER_ID: 'a b' })).rejects.toThrow(/"a b" is not a member id/);
  });

  test('a metadata endpoint that fails is named in the error', async () => {
    await expect(resolveMemberIdentity({ ECS_CONTAINER_METADATA_URI_V4: `${uri}/missing` })).rejects.toThrow(/answered HTTP 404/);
  });

  test('documents without a task ARN or an IPv4 address are refused', () => {
    expect(() => identityFromTaskMetadata({ ...TASK_DOCUMENT, TaskARN: undefined })).toThrow(/TaskARN undefined is not a task ARN/);
    expect(() => identityFromTaskMetadata({ ...TASK_DOCUMENT, Containers: [{ Networks: [{ IPv4Addresses: [] }] }] })).toThrow(/no IPv4 address/);
  });
});
