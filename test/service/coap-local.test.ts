import { join } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { capturingLogger, eventually, freePort, UdpClient } from './helpers';
import { LocalService, startLocalService } from '../../service/local-service';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:coap-source';

/** A CoAP handler as a Proxylity user writes it: parse Data, reply with a piggybacked 2.05 ACK. */
const HANDLER = join(__dirname, 'fixtures', 'coap-handler.cjs');

describe('coap Formatter over a real socket, local mode', () => {
  let service: LocalService;
  let port: number;
  const { logger, records } = capturingLogger();

  beforeAll(async () => {
    port = await freePort();
    service = await startLocalService({
      document: {
        Listeners: [{
          Name: 'coap',
          Protocol: 'udp',
          Port: port,
          BindAddress: '127.0.0.1',
          Formatter: 'coap',
          Destinations: [{ Name: 'handler', Type: 'local', Module: HANDLER, Batching: { Count: 10, TimeoutInSeconds: 0.02 } }],
        }],
        PacketSources: [{ TopicArn: TOPIC, ListenerName: 'coap' }],
      },
      logger,
      metricsIntervalSeconds: 0,
    });
  });

  afterAll(async () => {
    await service.stop();
  });

  test('a CoAP GET gets the handler\'s CoAP response; a malformed datagram is InvalidData and gets none', async () => {
    const client = await UdpClient.open();
    try {
      // CON GET /time, MessageId 0x1267, token 01 02 03.
      await client.send(Buffer.from([0x43, 0x01, 0x12, 0x67, 0x01, 0x02, 0x03, 0xb4, ...Buffer.from('time')]), port);
      await client.waitFor(1);
      const payload = Buffer.from('GET /time');
      expect(client.received[0].data).toEqual(Buffer.from([0x63, 0x45, 0x12, 0x67, 0x01, 0x02, 0x03, 0xc0, 0xff, ...payload]));
      // Token length 9 is reserved.
      await client.send(Buffer.from([0x49, 0x01, 0x00, 0x01]), port);
      await eventually(() => records.some((r) => r.message === FAILURE_LOG_MESSAGE && r.attributes.code === 'InvalidData'), 5000, 'the InvalidData record');
      const failure = records.find((r) => r.message === FAILURE_LOG_MESSAGE && r.attributes.code === 'InvalidData');
      expect(String(failure?.attributes.reason)).toContain('payload is not valid CoAP: token length 9');
      expect(client.received).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  test('a sourced packet with Formatter coap leaves the Listener port as CoAP', async () => {
    const client = await UdpClient.open();
    const sns = new SNSClient({ endpoint: service.snsUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      const data = JSON.stringify({ Type: 1, Code: '2.05', MessageId: 7, Token: 'AQ==', Options: [{ Number: 6, Value: 'AQ==' }], Payload: Buffer.from('tick').toString('base64') });
      await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify({ Messages: [{ Data: data, Formatter: 'coap', Remote: { Address: '127.0.0.1', Port: client.port } }] }) }));
      await client.waitFor(1);
      expect(client.received[0].from).toMatchObject({ address: '127.0.0.1', port });
      expect(client.received[0].data).toEqual(Buffer.from([0x51, 0x45, 0x00, 0x07, 0x01, 0x61, 0x01, 0xff, ...Buffer.from('tick')]));
    } finally {
      sns.destroy();
      await client.close();
    }
  });
});
