/**
 * Child side of a benchmark agent: dispatches requests from the parent to named handlers and
 * answers each one. The agent exits when asked, or when the parent goes away.
 */
import { defaultTransportAead } from '../../service/wireguard/transport-aead';

/** A request handler: receives the request's arguments, returns the result (JSON-serializable). */
export type Handler = (args: Record<string, unknown>) => unknown;

/** Serves `handlers` over the IPC channel and tells the parent the agent is ready. */
export function serve(handlers: Readonly<Record<string, Handler>>, onExit?: () => void | Promise<void>): void {
  if (!process.send) throw new Error('a benchmark agent must be started with an IPC channel');
  const reply = (message: Record<string, unknown>): void => {
    if (process.connected) process.send!(message);
  };
  const exit = async (): Promise<void> => {
    try {
      await onExit?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void exit());
  // also leave when the parent is gone without the channel telling us (killed, crashed)
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      void exit();
    }
  }, 1000).unref();
  process.on('message', (raw: unknown) => {
    const { id, command, args } = raw as { id: number; command: string; args: Record<string, unknown> };
    if (command === 'exit') {
      void exit();
      return;
    }
    if (command === 'cpu') {
      // every agent: its process's CPU time so far (user + system, µs), for CPU per packet
      const usage = process.cpuUsage();
      reply({ id, ok: true, result: { us: usage.user + usage.system } });
      return;
    }
    if (command === 'aead') {
      // every agent: the ChaCha20-Poly1305 its WireGuard devices seal and open with by default
      const selection = defaultTransportAead();
      reply({ id, ok: true, result: { implementation: selection.aead.implementation, fallbackReason: selection.fallbackReason } });
      return;
    }
    const handler = handlers[command];
    if (!handler) {
      reply({ id, ok: false, error: `unknown command ${command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(args ?? {}))
      .then(
        (result) => reply({ id, ok: true, result }),
        (error: unknown) => reply({ id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
      );
  });
  reply({ ready: true });
}

/** Reads a number argument, with a default. */
export function num(args: Record<string, unknown>, key: string, fallback?: number): number {
  const v = args[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`argument ${key} must be a number, got ${JSON.stringify(v)}`);
}

/** Reads a string argument, with a default. */
export function str(args: Record<string, unknown>, key: string, fallback?: string): string {
  const v = args[key];
  if (typeof v === 'string') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`argument ${key} must be a string, got ${JSON.stringify(v)}`);
}
