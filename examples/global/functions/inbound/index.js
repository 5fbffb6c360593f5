// Packets that WireGuard peers send to the "tunnel" Listener, in whichever region the accelerator
// sent them to (IngressRegion). This example only logs where they arrived; no Replies.
exports.handler = async (event) => {
  const packets = event.Messages ?? [];
  console.log(JSON.stringify({ packets: packets.length, region: packets[0]?.IngressRegion }));
  return { Replies: [] };
};
