/**
 * Paths of the data plane's health server: the construct points each Listener's target group at
 * its Listener's path and the service (service/health-server.ts) answers them, both by these
 * names. Paths are public API (health checks in the wild use them): add, never rename.
 * Pure: no CDK import.
 */

/** The whole task: 200 when every configured Listener is bound and the task is not stopping. */
export const TASK_HEALTH_PATH = '/healthz';

/** Prefix of the per-Listener paths. */
export const LISTENER_HEALTH_PATH_PREFIX = '/healthz/listeners/';

/** The running Listeners as JSON (discovery). */
export const LISTENERS_PATH = '/listeners';

/**
 * Path whose health is that of one Listener: 200 when this task has it bound, 503 when it is
 * configured but not bound or the task is stopping. Listener names (limits.ts `NAME`) need no escaping.
 */
export function listenerHealthPath(listenerName: string): string {
  return `${LISTENER_HEALTH_PATH_PREFIX}${listenerName}`;
}
