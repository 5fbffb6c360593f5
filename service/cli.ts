/**
 * `packet-gateway`: a small client for trying a gateway from the command line.
 *
 *   packet-gateway send <host:port> <text…>   send datagrams, print the replies
 *   packet-gateway listen <port>              print the datagrams that arrive
 *   packet-gateway publish --message <json>   publish a sourced packet to an SNS(-compatible) endpoint
 *   packet-gateway listeners                  list the running Listeners of a gateway
 *   packet-gateway import-proxylity <template> convert a Proxylity template to a CDK stack
 *
 * Exit codes: 0 done, 1 the operation failed (for send: no reply arrived), 2 the command line is wrong.
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { decodeData, isFailure } from './formatter';
import { importProxylityCommand } from './migration/import-command';
import { SNS_TOPIC_ARN, topicRegion } from '../lib/private/arn';
import { BIND_PORT, inIntegerRange, MAX_UDP_PAYLOAD_BYTES, PORT, REGION } from '../lib/private/limits';

/** Where the CLI writes, and what stops a long-running command (listen). */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Aborting ends `listen` (the binary wires SIGINT and SIGTERM to it). */
  readonly signal?: AbortSignal;
}

/** A command-line mistake: printed with the command's usage, exit code 2. */
class UsageError extends Error {}

const DEFAULT_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:packet-source';
const DEFAULT_SNS_ENDPOINT = 'http://127.0.0.1:4576';
const DEFAULT_HEALTH = 'http://127.0.0.1:8080';
/** Bytes of a datagram shown (text and hex); the size is always printed. */
const SHOWN_BYTES = 1024;

type Options = NonNullable<ParseArgsConfig['options']>;
/** Parsed option values (no option here is `multiple`, so arrays do not occur). */
type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

interface Command {
  readonly usage: string;
  readonly options: Options;
  run(positionals: string[], values: Values, io: CliIo): Promise<number>;
}

const HELP_OPTION: Options = { help: { type: 'boolean', short: 'h' } };

const COMMANDS: Record<string, Command> = {
  'send': {
    usage: [
      'packet-gateway send <host:port> <text…> [--hex | --base64] [--count N] [--wait ms]',
      '',
      'Sends <text…> (words joined by spaces) as a UDP datagram from one socket and prints every',
      'reply with the address:port it came from. Exits 1 when no reply arrives, saying whether',
      'anything is listening (a closed port answers with ICMP port unreachable).',
      '  --hex        <text> is hex (two digits per byte)',
      '  --base64     <text> is base64',
      '  --count N    send N datagrams (1-10000; default 1)',
      '  --wait ms    wait this long for replies after the last send (0-600000; default 1000);',
      '               0 only sends, and exits 0 without waiting',
      'Example: packet-gateway send 127.0.0.1:5555 hello',
    ].join('\n'),
    options: { ...HELP_OPTION, hex: { type: 'boolean' }, base64: { type: 'boolean' }, count: { type: 'string' }, wait: { type: 'string' } },
    run: send,
  },
  'listen': {
    usage: [
      'packet-gateway listen <port> [--host 127.0.0.1]',
      '',
      'Binds a UDP socket and prints each datagram that arrives with its source address:port, as',
      'text and hex, until Ctrl-C. Port 0 picks a free port (printed).',
      '  --host addr  address to bind (IPv4 or IPv6; default 127.0.0.1)',
      'Example: packet-gateway listen 40000',
    ].join('\n'),
    options: { ...HELP_OPTION, host: { type: 'string' } },
    run: listen,
  },
  'publish': {
    usage: [
      "packet-gateway publish --message '<json>' [--topic-arn arn] [--endpoint url] [--egress-region r] [--aws]",
      '',
      'Publishes a sourced-packet message to a PacketSource topic, like `aws sns publish` would.',
      '  --message json      the message, e.g. \'{"Messages":[{"Data":"aGk=","Remote":{"Address":"127.0.0.1","Port":40000}}]}\'',
      `  --topic-arn arn     the topic (default ${DEFAULT_TOPIC_ARN})`,
      `  --endpoint url      SNS endpoint (default ${DEFAULT_SNS_ENDPOINT}, the local gateway; dummy credentials)`,
      '  --egress-region r   set the EgressRegion message attribute',
      '  --aws               publish to AWS SNS itself with your usual credentials (no --endpoint)',
    ].join('\n'),
    options: { ...HELP_OPTION, 'message': { type: 'string' }, 'topic-arn': { type: 'string' }, 'endpoint': { type: 'string' }, 'egress-region': { type: 'string' }, 'aws': { type: 'boolean' } },
    run: publish,
  },
  'listeners': {
    usage: [
      'packet-gateway listeners [--health url]',
      '',
      "Lists a gateway's running Listeners (name, protocol, address:port, WireGuard public key).",
      `  --health url   the gateway's health endpoint (default ${DEFAULT_HEALTH})`,
    ].join('\n'),
    options: { ...HELP_OPTION, health: { type: 'string' } },
    run: listeners,
  },
  'import-proxylity': {
    usage: [
      'packet-gateway import-proxylity <template.json> [--out dir] [--first-port N]',
      '',
      'Converts a Proxylity UDP Gateway CloudFormation template (JSON) into a Packet Gateway CDK',
      'stack (gateway-stack.ts), a local-mode configuration (gateway.json) and the list of',
      'properties that could not be carried over (leftovers.json, also printed). Exits 0 with',
      'leftovers, 1 when the template cannot be read. See docs/MIGRATING.md.',
      '  --out dir        where to write the files (default ./packet-gateway-import)',
      '  --first-port N   port of the first Listener (Proxylity assigns ports; default 5555)',
    ].join('\n'),
    options: { ...HELP_OPTION, 'out': { type: 'string' }, 'first-port': { type: 'string' } },
    run: (positionals, values, io) => {
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <template.json>' : `unexpected argument ${JSON.stringify(positionals[1])}`);
      const firstPort = values['first-port'] === undefined ? undefined : Number(values['first-port']);
      if (firstPort !== undefined && !inIntegerRange(firstPort, PORT)) throw new UsageError(`--first-port ${JSON.stringify(values['first-port'])} is not ${PORT.allowed}`);
      return importProxylityCommand(positionals[0]!, typeof values.out === 'string' ? values.out : 'packet-gateway-import', firstPort, io);
    },
  },
};

const MAIN_USAGE = [
  'packet-gateway <command> [options]',
  '',
  'Commands:',
  '  send <host:port> <text…>   send datagrams to a Listener and print the replies',
  '  listen <port>              print the datagrams that arrive on a port (e.g. sourced packets)',
  "  publish --message '<json>' publish a sourced packet to the gateway's SNS endpoint",
  '  listeners                  list the running Listeners of a gateway',
  '  import-proxylity <file>    convert a Proxylity template to a CDK stack and local config',
  '',
  'Run `packet-gateway <command> --help` for the options of a command.',
].join('\n');

/** Runs one command line (without the node and script arguments) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`packet-gateway: unknown command ${JSON.stringify(name)} (allowed: ${Object.keys(COMMANDS).join(', ')})`);
    io.err(MAIN_USAGE);
    return 2;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    } catch (err) {
      const allowed = Object.keys(command.options).map((o) => `--${o}`).join(', ');
      throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (allowed options: ${allowed})`);
    }
    if (parsed.values.help) {
      io.out(command.usage);
      return 0;
    }
    return await command.run(parsed.positionals, parsed.values, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`packet-gateway ${name}: ${err.message}`);
      io.err(`usage: ${command.usage.split('\n')[0]}`);
      return 2;
    }
    io.err(`packet-gateway ${name}: ${(err as Error).message}`);
    return 1;
  }
}

async function send(positionals: string[], values: Values, io: CliIo): Promise<number> {
  const [target, ...words] = positionals;
  if (target === undefined) throw new UsageError('missing <host:port>, e.g. 127.0.0.1:5555');
  const { host, port } = parseHostPort(target);
  if (words.length === 0) throw new UsageError('missing <text…>: the payload to send');
  if (values.hex && values.base64) throw new UsageError('--hex and --base64 cannot be combined (choose one encoding of <text>)');
  const text = words.join(' ');
  const formatter = values.hex ? 'hex' : values.base64 ? 'base64' : 'utf8';
  const payload = decodeData(text, formatter, `<text> (${formatter})`);
  if (isFailure(payload)) throw new UsageError(payload.reason);
  if (payload.length > MAX_UDP_PAYLOAD_BYTES) throw new UsageError(`<text> is ${payload.length} bytes; a UDP datagram carries at most ${MAX_UDP_PAYLOAD_BYTES}`);
  const count = integerOption(values.count, '--count', 1, 1, 10_000);
  const waitMs = integerOption(values.wait, '--wait', 1000, 0, 600_000);

  const address = await resolveHost(host);
  const destination = formatAddress(address, port);
  // A connected socket hears the ICMP port unreachable a closed port answers with (ECONNREFUSED),
  // and accepts datagrams from the target only.
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  let replies = 0;
  let refused = false;
  let wake: (() => void) | undefined;
  socket.on('message', (data, from) => {
    replies++;
    io.out(`reply from ${describeDatagram(data, from)}`);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNREFUSED') {
      refused = true;
      wake?.();
    } else {
      io.err(`socket error: ${err.message}`);
    }
  });
  try {
    await new Promise<void>((resolve) => socket.connect(port, address, () => resolve()));
    for (let i = 0; i < count && !refused; i++) {
      try {
        await new Promise<void>((resolve, reject) => socket.send(payload, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
        refused = true;
        break;
      }
      if (i === 0) io.out(`sent ${payload.length} bytes to ${destination} from port ${socket.address().port}${count > 1 ? ` (${count} datagrams)` : ''}`);
    }
    if (!refused && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  if (replies > 0) {
    io.out(`${replies} ${replies === 1 ? 'reply' : 'replies'}`);
    return 0;
  }
  if (refused) {
    io.err(`no reply: nothing is listening on ${destination} (ICMP port unreachable)`);
    return 1;
  }
  if (waitMs === 0) {
    io.out('not waiting for replies (--wait 0)');
    return 0;
  }
  io.err(`no reply within ${waitMs} ms from ${destination} (no port unreachable came back: something may be listening there without answering, or a firewall drops the datagrams)`);
  return 1;
}

async function listen(positionals: string[], values: Values, io: CliIo): Promise<number> {
  if (positionals.length === 0) throw new UsageError(`missing <port> (${BIND_PORT.allowed}; 0 picks a free port)`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}; listen takes one <port>`);
  const port = parsePort(positionals[0], '<port>', 0);
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  if (isIP(host) === 0) throw new UsageError(`--host ${JSON.stringify(host)} is not an IP address (allowed: IPv4 or IPv6, e.g. 127.0.0.1 or ::1)`);
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  await bind(socket, port, host);
  const bound = socket.address();
  io.out(`listening on ${formatAddress(bound.address, bound.port)} (Ctrl-C to stop)`);
  socket.on('message', (data, from) => io.out(`from ${describeDatagram(data, from)}`));
  socket.on('error', (err) => io.err(`socket error: ${err.message}`));
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return 0;
}

async function publish(positionals: string[], values: Values, io: CliIo): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}; pass the message with --message '<json>'`);
  const message = values.message;
  if (typeof message !== 'string') throw new UsageError('--message is required, e.g. --message \'{"Messages":[{"Data":"aGk=","Remote":{"Address":"127.0.0.1","Port":40000}}]}\'');
  try {
    JSON.parse(message);
  } catch {
    throw new UsageError('--message is not valid JSON (expected {"Messages":[…]} or a single packet object)');
  }
  const topicArn = typeof values['topic-arn'] === 'string' ? values['topic-arn'] : DEFAULT_TOPIC_ARN;
  const topicArnRegion = topicRegion(topicArn);
  if (!topicArnRegion) throw new UsageError(`--topic-arn ${JSON.stringify(topicArn)} is not an SNS topic ARN (allowed: ${SNS_TOPIC_ARN.allowed})`);
  if (values.aws && values.endpoint !== undefined) throw new UsageError('--aws and --endpoint cannot be combined (--aws publishes to AWS SNS itself)');
  let endpoint: string | undefined;
  if (!values.aws) {
    endpoint = typeof values.endpoint === 'string' ? values.endpoint : DEFAULT_SNS_ENDPOINT;
    if (!/^https?:\/\/[^\s/]+/.test(endpoint)) throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (e.g. ${DEFAULT_SNS_ENDPOINT})`);
  }
  const egressRegion = values['egress-region'];
  if (egressRegion !== undefined && (typeof egressRegion !== 'string' || !REGION.pattern.test(egressRegion))) {
    throw new UsageError(`--egress-region ${JSON.stringify(egressRegion)} is not a region name (e.g. us-east-1)`);
  }
  const client = new SNSClient({
    region: topicArnRegion,
    maxAttempts: 1,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  try {
    const out = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: message,
        ...(egressRegion ? { MessageAttributes: { EgressRegion: { DataType: 'String', StringValue: egressRegion } } } : {}),
      }),
    );
    io.out(`published ${out.MessageId} to ${topicArn}${endpoint ? ` via ${endpoint}` : ''}`);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    const unreachable = e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message);
    throw new Error(unreachable ? `could not reach ${endpoint} (is the gateway running? start it with npm start)` : `publish failed: ${e.name}: ${e.message}`);
  } finally {
    client.destroy();
  }
}

async function listeners(positionals: string[], values: Values, io: CliIo): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const health = typeof values.health === 'string' ? values.health : DEFAULT_HEALTH;
  let url: URL;
  try {
    url = new URL('/listeners', health);
  } catch {
    throw new UsageError(`--health ${JSON.stringify(health)} is not a URL (e.g. ${DEFAULT_HEALTH})`);
  }
  let body: unknown;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new Error(cause?.code === 'ECONNREFUSED' ? `could not reach ${url} (is the gateway running? start it with npm start)` : `could not list Listeners: ${(err as Error).message}`);
  }
  if (!Array.isArray(body)) throw new Error(`${url} did not return a JSON array of Listeners`);
  if (body.length === 0) {
    io.out('no Listeners running');
    return 0;
  }
  const rows = body.map((l: Record<string, unknown>) => [String(l.name), String(l.protocol), formatAddress(String(l.address), Number(l.port)), typeof l.publicKey === 'string' ? `publicKey ${l.publicKey}` : '']);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) io.out(r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell)).join('  ').trimEnd());
  return 0;
}

/** `1.2.3.4:5`, `[::1]:5`, `localhost:5`. */
function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`<host:port> ${JSON.stringify(text)} is not host:port (allowed: 127.0.0.1:5555, [::1]:5555, localhost:5555)`);
  return { host: m[1], port: parsePort(m[2], '<host:port> port', 1) };
}

function parsePort(text: string, what: string, min: number): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= BIND_PORT.max)) throw new UsageError(`${what} ${JSON.stringify(text)} is not a port (allowed: ${min}–${BIND_PORT.max})`);
  return port;
}

function integerOption(value: Values[string], name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${name} ${JSON.stringify(value)} is not allowed (allowed: an integer ${min}-${max})`);
  return n;
}

async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch {
    throw new UsageError(`<host:port> host ${JSON.stringify(host)} could not be resolved (use an IP address or a resolvable name)`);
  }
}

function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${formatAddress(host, port)}: ${err.code ?? err.message}`)));
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `127.0.0.1:5555 (2 bytes): "hi"  hex 6869`, showing at most the first 1024 bytes. */
function describeDatagram(data: Buffer, from: RemoteInfo): string {
  const shown = data.length > SHOWN_BYTES ? data.subarray(0, SHOWN_BYTES) : data;
  const more = data.length > SHOWN_BYTES ? ` (first ${SHOWN_BYTES} bytes shown)` : '';
  return `${formatAddress(from.address, from.port)} (${data.length} bytes): ${JSON.stringify(shown.toString('utf8'))}  hex ${shown.toString('hex')}${more}`;
}

/** Entry point of the binary: wires stdout/stderr and Ctrl-C, and sets the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // The SDK's notice about its future Node.js requirement is noise in a command's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    process.exitCode = await runCli(argv, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

if (require.main === module) {
  void main();
}
