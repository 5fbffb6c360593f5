/**
 * Destination arguments computed per packet (`Arguments.PartitionKeyExpression` +
 * `PartitionKeyFormatter`, `MessageGroupIdExpression`, `MessageDeduplicationIdExpression`,
 * `TenantIdExpression`, each with its Formatter): the bytes a binary range expression selects from
 * the payload, rendered as text.
 *
 * The expression is parsed once, when the destination is configured; rendering a payload
 * allocates only the resulting string and never throws. Bytes the Formatter cannot represent
 * (ascii, utf8) give an `InvalidData` failure naming the argument, as the packet's own `Data` does.
 */
import { parseBinaryExpression } from '../../lib/private/binary-expression';
import type { ArgumentFormatterName, DestinationArgumentsRecord, PacketArgumentName } from '../../lib/private/records';
import type { Failure } from '../contracts';
import { encodeData } from '../formatter';

/** Formatter of an argument that names none (Proxylity's default for `PartitionKeyFormatter`). */
export const DEFAULT_ARGUMENT_FORMATTER: ArgumentFormatterName = 'hex';

/** One configured argument: its expression and Formatter. */
export interface PacketArgumentConfig {
  readonly expression: string;
  /** @default hex */
  readonly formatter?: ArgumentFormatterName;
}

/** The argument's text for one payload, or the `InvalidData` failure when its Formatter cannot represent the selected bytes. */
export type PacketArgument = (payload: Uint8Array) => string | Failure;

/**
 * Compiles an argument. Throws an `ExpressionError` (column and what was expected) when the
 * expression does not parse; the record validator reports the same error before this runs.
 *
 * @param what the argument's name in messages, e.g. `PartitionKeyExpression`
 */
export function compilePacketArgument(config: PacketArgumentConfig, what: string): PacketArgument {
  const expression = parseBinaryExpression(config.expression, what);
  const formatter = config.formatter ?? DEFAULT_ARGUMENT_FORMATTER;
  return (payload) => encodeData(expression.evaluate(payload), formatter, what);
}

/**
 * The packet argument `name` of a destination's `Arguments` (`<name>Expression` with
 * `<name>Formatter`), compiled; undefined when the destination sets no expression.
 */
export function packetArgumentOf(args: DestinationArgumentsRecord | undefined, name: PacketArgumentName): PacketArgument | undefined {
  const fields = args as Readonly<Record<string, unknown>> | undefined;
  const expression = fields?.[`${name}Expression`];
  if (typeof expression !== 'string') return undefined;
  return compilePacketArgument({ expression, formatter: fields?.[`${name}Formatter`] as ArgumentFormatterName | undefined }, `${name}Expression`);
}
