/**
 * WireGuard clients for the memory scenario: each with its own key and its own endpoint, each
 * completing one handshake with the gateway's WireGuard device and confirming the session with a
 * keepalive. Clients are dropped once done, so this process stays small however many sessions
 * the gateway ends up holding.
 */
import { loopbackAddress } from '../lib/addresses';
import { num, serve, str } from '../lib/agent-runtime';
import { WgHandshakeClient } from '../lib/wg-client';

interface WireItem {
  readonly index: number;
  readonly data: string;
  readonly address: string;
  readonly port: number;
}

const clients = new Map<number, WgHandshakeClient>();

/** Where client i appears to come from: its own loopback address and port. */
function clientEndpoint(i: number): { address: string; port: number } {
  return { address: loopbackAddress(2, i), port: 10_000 + (i % 50_000) };
}

serve({
  /** Creates clients first..first+count-1; returns their handshake initiations. */
  initiations: (args) => {
    const listenerKey = Buffer.from(str(args, 'gatewayPublicKey'), 'base64');
    const first = num(args, 'first');
    const count = num(args, 'count');
    const items: WireItem[] = [];
    for (let i = first; i < first + count; i++) {
      const client = new WgHandshakeClient(listenerKey, (i % 4_000_000_000) + 1);
      clients.set(i, client);
      items.push({ index: i, data: client.initiation().toString('base64'), ...clientEndpoint(i) });
    }
    return { items };
  },
  /** Hands each client the gateway's response; returns the keepalives that confirm the sessions. Clients are then dropped. */
  responses: (args) => {
    const items: WireItem[] = [];
    let failures = 0;
    for (const item of args.items as WireItem[]) {
      const client = clients.get(item.index);
      if (!client) continue;
      clients.delete(item.index);
      try {
        items.push({ index: item.index, data: client.confirm(Buffer.from(item.data, 'base64')).toString('base64'), ...clientEndpoint(item.index) });
      } catch {
        failures++;
      }
    }
    return { items, failures };
  },
});
