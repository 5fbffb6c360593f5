/**
 * Messages between the main thread and a data-plane worker (over the worker's MessagePort).
 * Datagram bytes travel as transferred ArrayBuffers, never copied twice.
 */
import type { InnerAddressing } from '../contracts';
import type { TransportAeadPreference } from '../wireguard/transport-aead';

/** A worker says again, this often, that each flow it still holds is its own. */
export const FLOW_RENEW_MS = 30_000;

/** Milliseconds between a worker's checks of which flows to renew. */
export const FLOW_RENEW_TICK_MS = 10_000;

/** A worker's flow counts as held this long after the worker last named it (renewal, check and margin). */
export const FLOW_HELD_MS = FLOW_RENEW_MS + FLOW_RENEW_TICK_MS + 5_000;

/** `workerData.role` of a data-plane worker thread. */
export const DATA_PLANE_WORKER_ROLE = 'packet-gateway-data-plane';

/** What a data-plane worker is started with (structured-clone safe). */
export interface DataPlaneWorkerData {
  readonly role: typeof DATA_PLANE_WORKER_ROLE;
  /** 1..N-1 (the main thread is worker 0). */
  readonly index: number;
  readonly mode: 'local' | 'aws';
  readonly region: string;
  /** Default bind address of Listeners. */
  readonly host: string;
  readonly configPath?: string;
  readonly watchConfig?: boolean;
  readonly tableName?: string;
  readonly reloadIntervalSeconds?: number;
  readonly deniedNetworks?: readonly string[];
  readonly tagSecret?: Uint8Array;
  readonly logLevel?: string;
  readonly metricsIntervalSeconds?: number;
  readonly gatewayName?: string;
  readonly wireGuardCrypto?: TransportAeadPreference;
}

/** Main thread → worker: send a datagram from the worker's Listener socket. */
export interface SendRequest {
  readonly kind: 'send';
  readonly id: number;
  readonly listener: string;
  readonly data: Uint8Array;
  readonly address: string;
  readonly port: number;
  readonly peerKey?: string;
  readonly inner?: InnerAddressing;
}

/** Main thread → worker: stop within `deadlineMs`. */
export interface StopRequest {
  readonly kind: 'stop';
  readonly deadlineMs: number;
}

export type MainToWorker = SendRequest | StopRequest;

export type WorkerToMain =
  | { readonly kind: 'ready' }
  | { readonly kind: 'start-failed'; readonly error: string }
  /**
   * A datagram started a flow on this worker: it owns the flow now; `renewed`: the flow is still
   * this worker's (sent every {@link FLOW_RENEW_MS} while it lives).
   */
  | { readonly kind: 'flow'; readonly listener: string; readonly address: string; readonly port: number; readonly renewed?: boolean }
  | { readonly kind: 'sent'; readonly id: number; readonly code?: string; readonly reason?: string; readonly target?: string }
  | { readonly kind: 'stopped' };
