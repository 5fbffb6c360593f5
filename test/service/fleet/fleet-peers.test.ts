/**
 * Pushes by PeerKey on a WireGuard Listener go to the member holding the peer's session (its
 * peer item), whatever flow the entry's Remote address names; members on dynalite, relay on loopback.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { EgressDatagram, Failure, ListenerHandle } from '../../../service/contracts';
import { FlowTable } from '../../../service/egress/flow-table';
import { Fleet } from '../../../service/fleet/fleet';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { fleetMembers } from '../../support/fleet-members';

const SECRET = Buffer.alloc(32, 5);
const LISTENER = 'wg-main';

interface WgMember {
  readonly fleet: Fleet;
  readonly flows: FlowTable;
  readonly sent: EgressDatagram[];
  /** Peers whose session this member holds. */
  readonly sessions: Set<string>;
  readonly listener: ListenerHandle;
}

describe('fleet: pushes by PeerKey go to the member holding the peer session', () => {
  const members = fleetMembers(SECRET);
  const peer = publicKeyOf(generatePrivateKey());

  async function member(memberId: string, retryBudgetMs = 3_000): Promise<WgMember> {
    const sent: EgressDatagram[] = [];
    const sessions = new Set<string>();
    const listener: ListenerHandle = {
      name: LISTENER,
      protocol: 'wg',
      address: '0.0.0.0',
      port: 51820,
      send: (d, done) => {
        sent.push(d);
        done?.(undefined);
      },
      holdsSession: (peerKey) => sessions.has(peerKey),
    };
    const { fleet, flows } = await members.start({ memberId, listener, retryBudgetMs });
    return { fleet, flows, sent, sessions, listener };
  }

  const push = (m: WgMember, text: string, address = '198.51.100.2', port = 40000): Promise<Failure | undefined> =>
    new Promise((resolve) => m.fleet.send(m.listener, { data: Buffer.from(text), address, port, peerKey: peer }, { messageId: 'm', index: 0, deadline: 0 }, resolve));

  test('the session holder sends it, even where another member owns the flow the entry names', async () => {
    const a = await member('a');
    const b = await member('b');
    // a owns the flow of the address the publisher named (a stale endpoint); b holds the session
    a.flows.touch(LISTENER, '198.51.100.2', 40000);
    b.sessions.add(peer);
    b.fleet.directory.claimPeer(LISTENER, peer, '198.51.100.2', 41000);
    await b.fleet.directory.flush();
    await a.fleet.directory.flush();
    await expect(push(a, 'by key')).resolves.toBeUndefined();
    expect(a.sent).toEqual([]);
    expect(b.sent.map((d) => [d.peerKey, d.data.toString()])).toEqual([[peer, 'by key']]);
    // and the holder sends its own without a relay
    await expect(push(b, 'local')).resolves.toBeUndefined();
    expect(b.sent).toHaveLength(2);
  });

  test('an entry waits while the session moves to a new member, then goes there', async () => {
    const a = await member('a');
    const b = await member('b');
    const c = await member('c');
    b.fleet.directory.claimPeer(LISTENER, peer, '198.51.100.2', 41000); // b claimed it, but its session is gone (b restarted)
    await b.fleet.directory.flush();
    const result = push(a, 'moved');
    await new Promise((r) => setTimeout(r, 400));
    c.sessions.add(peer); // c re-established the session and claims the peer
    c.fleet.directory.claimPeer(LISTENER, peer, '198.51.100.2', 41000);
    await c.fleet.directory.flush();
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.data.toString())).toEqual(['moved']);
    expect(b.sent).toEqual([]);
  });

  test('no member holding a session within the budget fails NoSession, naming the peer', async () => {
    const a = await member('a', 600);
    const failure = await push(a, 'nobody');
    expect(failure?.code).toBe('NoSession');
    expect(failure?.reason).toContain(`no fleet member holds a session of peer ${peer} on Listener ${LISTENER}`);
  });

  test('a flow of a WireGuard Listener is recorded with the peer that spoke from it', async () => {
    const a = await member('a');
    a.flows.touch(LISTENER, '198.51.100.2', 40001, undefined, peer);
    a.flows.touch(LISTENER, '198.51.100.2', 40001, undefined, peer); // a refresh writes nothing
    await a.fleet.directory.flush();
    const item = (await members.dynamo.documents.send(new GetCommand({ TableName: members.tableName, Key: { pk: `flow#${LISTENER}#198.51.100.2#40001` } }))).Item;
    expect(item).toMatchObject({ member: 'a', peerKey: peer });
    expect(a.fleet.directory.writes).toBe(1);
    const found = await new Promise((resolve) => a.fleet.directory.peerAt(LISTENER, '198.51.100.2', 40001, resolve));
    expect(found).toBe(peer);
    const none = await new Promise((resolve) => a.fleet.directory.peerAt(LISTENER, '198.51.100.2', 40002, (key, failed) => resolve([key, failed])));
    expect(none).toEqual([undefined, undefined]);
  });
});
