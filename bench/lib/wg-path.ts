/**
 * Where datagrams go on a path through network namespaces, read from the kernel: drops per UDP
 * socket (`/proc/net/udp`), veth receive counts, socket buffer sizes (`ss`) and the CPU time of
 * processes that are not agents (wireguard-go).
 */
import { execFileSync } from 'node:child_process';
import { IPV4_HEADER_LENGTH, UDP_HEADER_LENGTH } from '../../service/wireguard/inner-packet';
import { TRANSPORT_MIN_LENGTH } from '../../service/wireguard/messages';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** Datagrams each UDP socket of namespace `ns` dropped so far (full receive buffer), by local port. */
export function udpSocketDrops(ns: string): Map<number, number> {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/udp'], { encoding: 'utf8' });
  const out = new Map<number, number>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const port = parseInt(f[1].split(':')[1], 16);
    out.set(port, (out.get(port) ?? 0) + Number(f[f.length - 1]));
  }
  return out;
}

/** Packets received so far by the veth interfaces of namespace `ns`. */
export function vethRxPackets(ns: string): number {
  const links = JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })) as Array<{
    stats64: { rx: { packets: number } };
  }>;
  return links.reduce((n, l) => n + l.stats64.rx.packets, 0);
}

/** The `skmem:(…)` line of `ss` (rb receive buffer, tb send buffer, d drops) for the UDP socket bound to `port` in `ns`. */
export function socketMemory(ns: string, port: number): string {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-uamnH', 'sport', `= :${port}`], { encoding: 'utf8' });
  return text.match(/skmem:\([^)]*\)/)?.[0] ?? 'not found';
}

/** The receive buffer size (`rb`) of the UDP socket bound to `port` in `ns`, bytes; NaN when not found. */
export function receiveBufferOf(ns: string, port: number): number {
  const rb = socketMemory(ns, port).match(/rb(\d+)/);
  return rb ? Number(rb[1]) : NaN;
}

/** CPU time (user + system, every thread) of process `pid` so far, µs (10 ms resolution). */
export function processCpuUs(pid: number): number {
  const fields = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
}

/**
 * Bytes of the UDP payload that carries a `size`-byte payload sealed for a WireGuard peer: the
 * transport header, the inner IPv4/UDP headers and payload padded to 16 bytes, and the tag.
 */
export function sealedDatagramBytes(size: number): number {
  return TRANSPORT_MIN_LENGTH + Math.ceil((IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH + size) / 16) * 16;
}
