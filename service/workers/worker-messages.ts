/**
 * Messages between the main thread and a data-plane worker (over the worker's MessagePort).
 * Datagram bytes travel as transferred ArrayBuffers, never copied twice. Sends and their outcomes
 * travel in batches, one message per event-loop turn of the side that posts them.
 */
import type { KeyObject } from 'node:crypto';
import type { SendBatch } from './send-batch';
import type { TransportAeadPreference } from '../wireguard/transport-aead';

/** A worker says again, this often, that each flow it still holds is its own. */
export const FLOW_RENEW_MS = 30_000;

/** Milliseconds between a worker's checks of which flows to renew. */
export const FLOW_RENEW_TICK_MS = 10_000;

/** A worker's flow counts as held this long after the worker last named it (renewal, check and margin). */
export const FLOW_HELD_MS = FLOW_RENEW_MS + FLOW_RENEW_TICK_MS + 5_000;

/** Longest wait of a worker for the main thread's answer to a `peer-at` request; then the lookup failed. */
export const PEER_AT_TIMEOUT_MS = 5_000;

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
  /** Receive buffer of each Listener socket, in bytes, as the main thread decided it at start. */
  readonly receiveBufferBytes?: number;
  /**
   * The main thread keeps the fleet's directory: the worker's WireGuard Listeners find the peer of
   * an endpoint through it (`peer-at`) to re-establish sessions. @default false
   */
  readonly peerLookups?: boolean;
}

/**
 * Main thread → worker: the datagrams routed to this worker in one turn of the main thread's event
 * loop, in the order they were routed (one message per turn, not per datagram: posting a message
 * costs the main thread several times what a datagram's own share of a batch does), written into
 * transferable chunks (send-batch.ts).
 */
export type { SendBatch };

/** The failure of the send with id `id` (a send that succeeded is only listed in `sent`). */
export interface SendFailure {
  readonly id: number;
  readonly code: string;
  readonly reason?: string;
  readonly target?: string;
}

/** One SNS signature's RSA operation (in a {@link CheckBatch}); see SignatureCheck (sns-message-verifier.ts). */
export interface SignatureCheckRequest {
  readonly id: number;
  /** `sha1` or `sha256`. */
  readonly digest: string;
  /** The string SNS signs. */
  readonly text: string;
  /** Base64. */
  readonly signature: string;
  /** Index of the certificate's public key in the batch's `keys`. */
  readonly key: number;
}

/**
 * Main thread → worker: the signature checks given to this worker in one turn of the main thread's
 * event loop, with the public keys they use (cloned KeyObjects, usually one).
 */
export interface CheckBatch {
  readonly kind: 'check';
  readonly keys: readonly KeyObject[];
  readonly checks: readonly SignatureCheckRequest[];
}

/** The outcome of the {@link SignatureCheckRequest} with the same `id`: `valid`, or why its inputs could not be checked. */
export type SignatureCheckResult = { readonly id: number; readonly valid: boolean } | { readonly id: number; readonly error: string };

/** Main thread → worker: stop within `deadlineMs`. */
export interface StopRequest {
  readonly kind: 'stop';
  readonly deadlineMs: number;
}

/** Main thread → worker: the answer to a worker's `peer-at` request with the same `id`. */
export interface PeerAtAnswer {
  readonly kind: 'peer-at';
  readonly id: number;
  /** The peer last recorded at the endpoint; absent when none is, or when `failed`. */
  readonly peerKey?: string;
  /** The main thread's directory could not be read: no answer about the endpoint. */
  readonly failed?: true;
}

export type MainToWorker = SendBatch | CheckBatch | StopRequest | PeerAtAnswer;

/** Worker → main thread: this worker holds the WireGuard session of `peerKey`, reached at `address:port` (a fleet `claimPeer`). */
export interface PeerClaim {
  readonly kind: 'peer';
  readonly listener: string;
  readonly peerKey: string;
  readonly address: string;
  readonly port: number;
}

/** Worker → main thread: which peer was last recorded at `address:port` on `listener`? Answered by a {@link PeerAtAnswer}. */
export interface PeerAtRequest {
  readonly kind: 'peer-at';
  readonly id: number;
  readonly listener: string;
  readonly address: string;
  readonly port: number;
}

export type WorkerToMain =
  | { readonly kind: 'ready' }
  | { readonly kind: 'start-failed'; readonly error: string }
  /**
   * A datagram started a flow on this worker: it owns the flow now; `renewed`: the flow is still
   * this worker's (sent every {@link FLOW_RENEW_MS} while it lives); `peerKey`: the WireGuard peer
   * that speaks from the flow, when the worker knows it.
   */
  | { readonly kind: 'flow'; readonly listener: string; readonly address: string; readonly port: number; readonly renewed?: boolean; readonly peerKey?: string }
  | PeerClaim
  | PeerAtRequest
  /** The outcomes of a {@link CheckBatch}, in one message. */
  | { readonly kind: 'checked'; readonly results: readonly SignatureCheckResult[] }
  /**
   * The outcomes of the sends that completed in one turn of the worker's event loop: the ids of
   * those that were sent (one transferred array, no object per send), and the failures.
   */
  | { readonly kind: 'sent'; readonly sent: Float64Array; readonly failures: readonly SendFailure[] }
  | WorkerFailed
  | { readonly kind: 'stopped' };

/**
 * Worker → main thread, once: an exception nothing caught or a rejection nothing handled escaped
 * in the worker (`origin`), described by `error` (bounded). The worker keeps running until the main
 * thread's stop drains it; the main thread stops the task, exit 1.
 */
export interface WorkerFailed {
  readonly kind: 'failed';
  readonly origin: 'uncaughtException' | 'unhandledRejection';
  readonly error: string;
}
