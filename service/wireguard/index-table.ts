/**
 * The receiver indices of one device: every index the device handed to a peer (in an initiation
 * or a response) maps to that peer and, once keys exist, to the session's keypair. Transport
 * messages find their session here by the receiver index they carry.
 */
import { randomInt } from 'node:crypto';
import type { Keypair, Peer } from './peer';

/** What one receiver index names. */
export interface IndexEntry {
  readonly peer: Peer;
  /** Undefined while the index names a handshake in progress. */
  readonly keypair: Keypair | undefined;
}

/** Receiver index → peer and session. */
export class IndexTable {
  private readonly entries = new Map<number, IndexEntry>();

  /** A random 32-bit index no entry uses (random so indices say nothing about the device's sessions). */
  allocate(): number {
    for (;;) {
      const index = randomInt(0, 0x1_0000_0000);
      if (!this.entries.has(index)) return index;
    }
  }

  get(index: number): IndexEntry | undefined {
    return this.entries.get(index);
  }

  /** Names a handshake of `peer` in progress (no keys yet). */
  setHandshake(index: number, peer: Peer): void {
    this.entries.set(index, { peer, keypair: undefined });
  }

  /** Names the session of `peer` that uses `keypair`. */
  setSession(index: number, peer: Peer, keypair: Keypair): void {
    this.entries.set(index, { peer, keypair });
  }

  delete(index: number): void {
    this.entries.delete(index);
  }

  /** Forgets `keypair`'s index (unless it already names something else) and wipes its keys. */
  retire(keypair: Keypair): void {
    const entry = this.entries.get(keypair.localIndex);
    if (entry?.keypair === keypair) this.entries.delete(keypair.localIndex);
    keypair.wipe();
  }
}
