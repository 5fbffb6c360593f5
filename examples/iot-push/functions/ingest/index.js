// Telemetry from devices, delivered by the gateway's "telemetry" (UDP) and "telemetry-wg"
// (WireGuard) Listeners in batches. Each datagram is "<device-id> <reading>", e.g.
// "sensor-17 temp=21.5". The function remembers where each device was last seen (the address
// the gateway received it from, and its WireGuard key when it came through the tunnel) and
// answers ACK.
const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');

const dynamodb = new DynamoDBClient({});
const TABLE = process.env.DEVICES_TABLE;
const ACK = Buffer.from('ACK').toString('base64');
const NAK = Buffer.from('NAK bad device id').toString('base64');

exports.handler = async (event) => {
  const replies = [];
  for (const packet of event.Messages ?? []) {
    const deviceId = Buffer.from(packet.Data, 'base64').toString('utf8').split(' ')[0];
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(deviceId)) {
      replies.push({ Tag: packet.Tag, Data: NAK });
      continue;
    }
    await dynamodb.send(new PutItemCommand({
      TableName: TABLE,
      Item: {
        deviceId: { S: deviceId },
        address: { S: packet.Remote.IpAddress },
        port: { N: String(packet.Remote.Port) },
        seenAt: { N: String(Date.parse(packet.ReceivedAt)) },
        ...(packet.Remote.PeerKey ? { peerKey: { S: packet.Remote.PeerKey } } : {}),
      },
    }));
    replies.push({ Tag: packet.Tag, Data: ACK });
  }
  return { Replies: replies };
};
