/**
 * A Listener record names its protocol by `Protocol` (`"udp"`) or, as Proxylity's Listener
 * resource does, by the list `Protocols` (`["udp"]`). A Listener here speaks exactly one protocol,
 * so the list holds one entry; validate-records.ts refuses anything else. The data plane and the
 * registration function read `Protocol` only: records pass through {@link withListenerProtocol}
 * once validated. Pure: no CDK import.
 */
import { LISTENER_PROTOCOLS, ListenerProtocolName, ListenerRecord } from './records';

/** The protocol `record` names, by `Protocol` or else by a one-entry `Protocols`; undefined when neither names a known one. */
export function listenerProtocolOf(record: { readonly Protocol?: unknown; readonly Protocols?: unknown }): ListenerProtocolName | undefined {
  if (isProtocol(record.Protocol)) return record.Protocol;
  const list = record.Protocols;
  return Array.isArray(list) && list.length === 1 && isProtocol(list[0]) ? list[0] : undefined;
}

/**
 * `record` with `Protocol` set from `Protocols` when only the list names it (a record that passed
 * validate-records.ts); the same object when `Protocol` is already set.
 */
export function withListenerProtocol(record: ListenerRecord): ListenerRecord {
  if (isProtocol(record.Protocol)) return record;
  const protocol = listenerProtocolOf(record);
  return protocol === undefined ? record : { ...record, Protocol: protocol };
}

function isProtocol(value: unknown): value is ListenerProtocolName {
  return typeof value === 'string' && (LISTENER_PROTOCOLS as readonly string[]).includes(value);
}
