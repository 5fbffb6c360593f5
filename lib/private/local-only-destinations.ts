/**
 * Destination types that exist only in local mode (`npm start`): a deployed gateway refuses a
 * Listener record that names one (the registration function, and the data plane's DynamoDB
 * configuration source).
 */
import { DESTINATION_TYPES, DestinationTypeName } from './records';

/** Local handlers and the packet printer. */
export const LOCAL_ONLY_DESTINATION_TYPES: readonly DestinationTypeName[] = ['local', 'log'];

/** The destination types a deployed gateway delivers to. */
export const DEPLOYED_DESTINATION_TYPES: readonly DestinationTypeName[] = DESTINATION_TYPES.filter((t) => !LOCAL_ONLY_DESTINATION_TYPES.includes(t));

/**
 * One message per destination of `record` whose Type exists only in local mode, each naming the
 * destination, its Type and the types allowed; empty when there is none. `path` prefixes the
 * field paths (as in `Configuration.Destinations[0].Type`).
 */
export function localOnlyDestinationErrors(record: { readonly Destinations?: readonly unknown[] }, path: string): string[] {
  const errors: string[] = [];
  const destinations = Array.isArray(record.Destinations) ? record.Destinations : [];
  destinations.forEach((destination, index) => {
    const type = (destination as { Type?: unknown } | null)?.Type;
    if (typeof type === 'string' && (LOCAL_ONLY_DESTINATION_TYPES as readonly string[]).includes(type)) {
      errors.push(`${path}.Destinations[${index}].Type: ${JSON.stringify(type)} exists only in local mode (allowed: ${DEPLOYED_DESTINATION_TYPES.join(', ')})`);
    }
  });
  return errors;
}
