// Runs on a schedule: pushes a WAKE datagram to every device seen in the last SEEN_WITHIN_SECONDS
// (110 s: below the load balancer's 120 s flow idle timeout, see the README), through the
// PacketSource topic of the Listener the device used. The gateway sends each one from that
// Listener's address and port (encrypted for the device's WireGuard key on the tunnel), so it
// passes the devices' NAT and firewall like a reply would.
const { DynamoDBClient, ScanCommand } = require('@aws-sdk/client-dynamodb');
const { PublishCommand, SNSClient } = require('@aws-sdk/client-sns');

const dynamodb = new DynamoDBClient({});
const sns = new SNSClient({});
const WAKE = Buffer.from('WAKE').toString('base64');
// One SNS message carries many datagrams; 100 stays far below SNS's 256 KB limit.
const PER_MESSAGE = 100;
// A device not seen for longer has no load-balancer flow left: a push could not reach it.
const SEEN_WITHIN_MS = Number(process.env.SEEN_WITHIN_SECONDS ?? 110) * 1000;

exports.handler = async () => {
  const since = Date.now() - SEEN_WITHIN_MS;
  const devices = [];
  let start;
  do {
    const page = await dynamodb.send(new ScanCommand({
      TableName: process.env.DEVICES_TABLE,
      FilterExpression: 'seenAt > :since',
      ExpressionAttributeValues: { ':since': { N: String(since) } },
      ExclusiveStartKey: start,
    }));
    devices.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);

  const plain = devices.filter((d) => !d.peerKey);
  const tunnelled = devices.filter((d) => d.peerKey);
  await publish(process.env.TOPIC_ARN, plain);
  await publish(process.env.TUNNEL_TOPIC_ARN, tunnelled);
  return { pushed: devices.length };
};

async function publish(topicArn, devices) {
  for (let i = 0; i < devices.length; i += PER_MESSAGE) {
    const Messages = devices.slice(i, i + PER_MESSAGE).map((d) => ({
      Data: WAKE,
      Remote: { Address: d.address.S, Port: Number(d.port.N), ...(d.peerKey ? { PeerKey: d.peerKey.S } : {}) },
      TtlSeconds: 60,
    }));
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify({ Messages }) }));
  }
}
