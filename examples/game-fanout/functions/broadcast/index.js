// The game server calls this with { "matchId": "m1", "state": { ... } } after every tick: ONE
// publish carries a Messages array with one entry per player, and the gateway fans it out as UDP
// datagrams from the game Listener's address. TtlSeconds drops state that is already stale.
const { DynamoDBClient, QueryCommand } = require('@aws-sdk/client-dynamodb');
const { PublishCommand, SNSClient } = require('@aws-sdk/client-sns');

const dynamodb = new DynamoDBClient({});
const sns = new SNSClient({});

exports.handler = async (event) => {
  const players = await dynamodb.send(new QueryCommand({
    TableName: process.env.PLAYERS_TABLE,
    KeyConditionExpression: 'matchId = :m',
    ExpressionAttributeValues: { ':m': { S: String(event.matchId) } },
  }));
  const data = JSON.stringify(event.state ?? {});
  const Messages = (players.Items ?? []).map((p) => ({
    Data: data,
    Formatter: 'utf8',
    Remote: { Address: p.address.S, Port: Number(p.port.N) },
    TtlSeconds: 2,
  }));
  if (Messages.length === 0) return { players: 0 };
  await sns.send(new PublishCommand({ TopicArn: process.env.TOPIC_ARN, Message: JSON.stringify({ Messages }) }));
  return { players: Messages.length };
};
