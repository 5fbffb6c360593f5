// Called by application code with { "address": "203.0.113.42", "port": 4567, "text": "hello" }
// (or a list of them in "targets"): publishes one message that the platform account's gateway
// sends as UDP datagrams from its Listener address.
const { PublishCommand, SNSClient } = require('@aws-sdk/client-sns');

const sns = new SNSClient({});

exports.handler = async (event) => {
  const targets = Array.isArray(event.targets) ? event.targets : [event];
  const Messages = targets.map((t) => ({
    Data: Buffer.from(String(t.text ?? '')).toString('base64'),
    Remote: { Address: String(t.address), Port: Number(t.port) },
  }));
  const out = await sns.send(new PublishCommand({ TopicArn: process.env.TOPIC_ARN, Message: JSON.stringify({ Messages }) }));
  return { messageId: out.MessageId, datagrams: Messages.length };
};
