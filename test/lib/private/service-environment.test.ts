import { ServiceEnvironment } from '../../../lib/private/service-environment';
import { optionsFromCommandLine } from '../../../service/main';
import type { ServiceOptions } from '../../../service/runtime';

describe('ServiceEnvironment', () => {
  test('the service reads every variable the construct sets by its shared name', () => {
    const options = optionsFromCommandLine([], {
      [ServiceEnvironment.Region]: 'eu-west-1',
      [ServiceEnvironment.Table]: 'config-table',
      [ServiceEnvironment.DeliveryQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery',
      [ServiceEnvironment.HealthPort]: '8181',
      [ServiceEnvironment.LogLevel]: 'DEBUG',
      [ServiceEnvironment.VpcCidrs]: '10.0.0.0/16, fd00::/64',
      [ServiceEnvironment.TagSecret]: Buffer.alloc(16, 7).toString('base64'),
      [ServiceEnvironment.ConfigReloadSeconds]: '5',
      [ServiceEnvironment.MetricsIntervalSeconds]: '0',
      [ServiceEnvironment.RelayPort]: '7470',
      [ServiceEnvironment.DirectoryTable]: 'directory-table',
    }) as ServiceOptions;
    expect(options).toMatchObject({
      mode: 'aws',
      region: 'eu-west-1',
      tableName: 'config-table',
      deliveryQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery',
      healthPort: 8181,
      deniedNetworks: ['10.0.0.0/16', 'fd00::/64'],
      reloadIntervalSeconds: 5,
      metricsIntervalSeconds: 0,
      relayPort: 7470,
      directoryTableName: 'directory-table',
    });
    expect(options.tagSecret).toEqual(Buffer.alloc(16, 7));
  });

  test('the public addresses per zone and the account and partition of destination log groups reach the service options', () => {
    const options = optionsFromCommandLine([], {
      [ServiceEnvironment.Region]: 'eu-west-1',
      [ServiceEnvironment.Table]: 'config-table',
      [ServiceEnvironment.PublicAddresses]: 'eu-west-1a=203.0.113.10',
      [ServiceEnvironment.Account]: '123456789012',
      [ServiceEnvironment.Partition]: 'aws',
    }) as ServiceOptions;
    expect(options).toMatchObject({ publicAddresses: 'eu-west-1a=203.0.113.10', account: '123456789012', partition: 'aws' });
  });

  test('the fleet relay port without the directory table is refused, naming both variables', () => {
    const env = { [ServiceEnvironment.Region]: 'eu-west-1', [ServiceEnvironment.Table]: 'config-table', [ServiceEnvironment.RelayPort]: '7470' };
    expect(() => optionsFromCommandLine([], env)).toThrow(/PACKET_GATEWAY_RELAY_PORT is set but PACKET_GATEWAY_DIRECTORY_TABLE is not/);
    const without = optionsFromCommandLine([], { [ServiceEnvironment.Region]: 'eu-west-1', [ServiceEnvironment.Table]: 'config-table' }) as ServiceOptions;
    expect(without.relayPort).toBeUndefined();
  });

  test('the peer regions\' delivery queues and SQS endpoints reach the service options; a bad endpoint is refused', () => {
    const env = {
      [ServiceEnvironment.Region]: 'eu-west-1',
      [ServiceEnvironment.Table]: 'config-table',
      [ServiceEnvironment.PeerDeliveryQueues]: 'arn:aws:sqs:us-east-1:123456789012:delivery',
      [ServiceEnvironment.PeerSqsEndpoints]: 'us-east-1=http://100.64.0.1:4566',
    };
    const options = optionsFromCommandLine([], env) as ServiceOptions;
    expect(options.peerDeliveryQueueArns).toEqual(['arn:aws:sqs:us-east-1:123456789012:delivery']);
    expect(options.peerSqsEndpoints).toEqual(new Map([['us-east-1', 'http://100.64.0.1:4566']]));
    expect(() => optionsFromCommandLine([], { ...env, [ServiceEnvironment.PeerSqsEndpoints]: 'us-east-1' }))
      .toThrow('peer SQS endpoint "us-east-1" is not valid');
  });

  test('names are distinct and prefixed', () => {
    const names = Object.values(ServiceEnvironment);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^PACKET_GATEWAY_[A-Z_]+$/);
  });
});
