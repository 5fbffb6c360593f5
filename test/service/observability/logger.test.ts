import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { FAILURE_LOG_MESSAGE } from '../../../service/observability/failure-reporter';
import { createLogger } from '../../../service/observability/logger';

const ROOT = resolve(__dirname, '..', '..', '..');

/** Runs a snippet in a fresh Node process (tsx) and returns the JSON lines it printed (warnings and errors go to stderr). */
function jsonLinesOf(snippet: string): Array<Record<string, unknown>> {
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), '-e', snippet], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, POWERTOOLS_DEV: '' } });
  return `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

describe('service logger', () => {
  test('AWS mode: one JSON object per line, service packet-gateway, stable fields', () => {
    const [record] = jsonLinesOf(`
      const { createLogger } = require('./service/observability/logger');
      const { LoggingFailureReporter } = require('./service/observability/failure-reporter');
      new LoggingFailureReporter(createLogger()).report({ code: 'ReplyUnknownTag', reason: 'Tag expired' }, { listener: 'demo', destination: 'fn' });
    `);
    expect(record).toMatchObject({ level: 'WARN', message: FAILURE_LOG_MESSAGE, service: 'packet-gateway', code: 'ReplyUnknownTag', reason: 'Tag expired', listener: 'demo', destination: 'fn' });
    expect(Date.parse(record.timestamp as string)).not.toBeNaN();
  });

  test('local mode: still one JSON object per line, time first and no noise fields', () => {
    const lines = jsonLinesOf(`
      const { createLogger } = require('./service/observability/logger');
      const logger = createLogger({ local: true, level: 'debug' });
      logger.debug('hello', { listener: 'demo' });
    `);
    expect(Object.keys(lines[0])).toEqual(['time', 'level', 'message', 'listener']);
    expect(lines[0]).toMatchObject({ level: 'DEBUG', message: 'hello', listener: 'demo' });
    expect(lines[0].time).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
  });

  test('an unknown level is refused naming the allowed ones', () => {
    expect(() => createLogger({ level: 'verbose' })).toThrow('log level "verbose" is not valid (allowed: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, any case)');
  });
});
