/**
 * The service's structured JSON logger (Powertools Logger). Field names are stable: `level`,
 * `message`, `timestamp`, `service` plus the attributes of each call (`listener`, `destination`,
 * `code`, `reason`, `remote`, …). Payloads and key material are never logged.
 */
import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, LogLevel, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { SERVICE_NAME } from '../../lib/private/metrics';


/** Log levels accepted by `--log-level` / `PACKET_GATEWAY_LOG_LEVEL`. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

export interface CreateLoggerOptions {
  /** @default INFO */
  readonly level?: string;
  /**
   * Local mode: shorter lines for a terminal (`time` as HH:MM:SS.mmm first, no `service` and
   * sampling fields) that stay one JSON object per line.
   * @default false
   */
  readonly local?: boolean;
}

/** Creates the service logger. Throws when `level` is not one of {@link LOG_LEVELS}. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = (options.level ?? 'INFO').toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`log level ${JSON.stringify(options.level)} is not valid (allowed: ${LOG_LEVELS.join(', ')}, any case)`);
  }
  return new Logger({
    serviceName: SERVICE_NAME,
    logLevel: level as LogLevel,
    ...(options.local ? { logFormatter: new LocalLogFormatter() } : {}),
  });
}

/** One compact JSON object per line, time first, for reading in a terminal. */
export class LocalLogFormatter extends LogFormatter {
  public formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const time = attributes.timestamp.toISOString().slice(11, 23);
    return new LogItem({ attributes: { time, level: attributes.logLevel, message: attributes.message } }).addAttributes(additional);
  }
}
