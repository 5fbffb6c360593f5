// Packets that clients send to the platform's "devices" Listener. This example only counts them;
// returning no Replies means no answer is sent.
exports.handler = async (event) => {
  const packets = event.Messages ?? [];
  console.log(JSON.stringify({ packets: packets.length, listener: packets[0]?.Local?.Domain }));
  return { Replies: [] };
};
