// Players send "JOIN <match> <player>" to the game Listener (and the same line as a keepalive
// every few seconds). The lobby records where each player is and answers "OK <match>".
const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');

const dynamodb = new DynamoDBClient({});
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

exports.handler = async (event) => {
  const replies = [];
  for (const packet of event.Messages ?? []) {
    // The Listener uses the utf8 formatter: Data is the text itself.
    const [verb, match, player] = String(packet.Data).trim().split(/\s+/);
    if (verb !== 'JOIN' || !NAME.test(match ?? '') || !NAME.test(player ?? '')) {
      replies.push({ Tag: packet.Tag, Data: 'ERR expected: JOIN <match> <player>' });
      continue;
    }
    await dynamodb.send(new PutItemCommand({
      TableName: process.env.PLAYERS_TABLE,
      Item: {
        matchId: { S: match },
        playerId: { S: player },
        address: { S: packet.Remote.IpAddress },
        port: { N: String(packet.Remote.Port) },
        expiresAt: { N: String(Math.floor(Date.now() / 1000) + 120) },
      },
    }));
    replies.push({ Tag: packet.Tag, Data: `OK ${match}` });
  }
  return { Replies: replies };
};
