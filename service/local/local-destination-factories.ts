/**
 * The destinations of local mode: every AWS destination plus local handlers (`local`) and the
 * packet printer (`log`). Only local mode hands this table to the gateway.
 */
import { createLocalDestination } from './local-destination';
import { createLogDestination } from './log-destination';
import { AWS_DESTINATION_FACTORIES, DestinationFactories } from '../destinations/destination-factory';

export const LOCAL_DESTINATION_FACTORIES: DestinationFactories = Object.freeze({
  ...AWS_DESTINATION_FACTORIES,
  local: createLocalDestination,
  log: createLogDestination,
});
