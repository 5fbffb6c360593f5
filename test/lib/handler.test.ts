/**
 * The handler-facing types reach a TypeScript user as `cdk-packet-gateway/handler`: the test lays
 * out the package as npm would install it (declarations of lib/handler.ts under dist/lib, the
 * package.json fields .projenrc.ts sets) and type-checks handlers written against it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as ts from 'typescript';
import { HANDLER_TYPES_VERSIONS } from '../../projenrc/handler-types';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');

let workDir: string;
let packageDir: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'pg-handler-types-'));
  packageDir = join(workDir, 'node_modules', 'cdk-packet-gateway');
  const distLib = join(packageDir, 'dist', 'lib');
  const program = ts.createProgram([join(LIB, 'handler.ts')], {
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: LIB,
    outDir: distLib,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    skipLibCheck: true,
    types: [],
  });
  const emitted = program.emit();
  expect(ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics).map(text)).toEqual([]);
  // The jsii API's entry point; a stand-in, to show the root import still resolves beside the subpath.
  writeFileSync(join(distLib, 'index.d.ts'), 'export declare const ROOT_MODULE = "cdk-packet-gateway";\n');
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writePackageJson(fields: Record<string, unknown>): void {
  writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: 'cdk-packet-gateway', version: '0.0.0', main: 'dist/lib/index.js', types: 'dist/lib/index.d.ts', ...fields }));
}

const RESOLUTIONS: ReadonlyArray<[string, Pick<ts.CompilerOptions, 'moduleResolution' | 'module'>]> = [
  ['node16', { moduleResolution: ts.ModuleResolutionKind.Node16, module: ts.ModuleKind.Node16 }],
  ['bundler', { moduleResolution: ts.ModuleResolutionKind.Bundler, module: ts.ModuleKind.ESNext }],
  ['node10', { moduleResolution: ts.ModuleResolutionKind.Node10, module: ts.ModuleKind.CommonJS }],
];

/** Type-checks `source` as a user's file next to the installed package; returns the diagnostics. */
function typeCheck(source: string, resolution = RESOLUTIONS[0][1]): string[] {
  const file = join(workDir, `handler-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  const program = ts.createProgram([file], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, types: [], lib: ['lib.es2022.d.ts'], ...resolution });
  return ts.getPreEmitDiagnostics(program).map(text);
}

function text(d: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(d.messageText, '\n');
}

const HANDLER = `
import type { CoapMessage, CoapMessageToSend, Packet, PacketBatch, PacketHandler, Replies, Reply, SourcedEntry, SourcedMessage } from 'cdk-packet-gateway/handler';
import { ROOT_MODULE } from 'cdk-packet-gateway';

export const root: string = ROOT_MODULE;

export const handler: PacketHandler = async (event: PacketBatch): Promise<Replies> => ({
  Replies: event.Messages.map((p: Packet): Reply | null => p.Formatter === 'utf8' && p.Local.Protocol === 'wg'
    ? { Tag: p.Tag, Data: p.Data.toUpperCase(), GeneratedAt: p.ReceivedAt }
    : p.Inner?.Version === 6 ? null : { Tag: p.Tag, Data: p.Data }),
});

export const silent: PacketHandler = () => undefined;

const entry: SourcedEntry = { Data: 'AQIDBA==', Remote: { Address: '2001:db8::1', Port: 4567 }, TtlSeconds: 5 };
export const batch: SourcedMessage = { Messages: [entry, { Data: '01', Formatter: 'hex', Remote: { IP: '203.0.113.42', Port: 9, PeerKey: 'k' } }] };
export const single: SourcedMessage = { Data: 'hi', Formatter: 'ascii', Remote: { IP: '203.0.113.42', Port: 9 } };
export const coapReply = (p: Packet): Reply => {
  const request: CoapMessage = JSON.parse(p.Data);
  const response: CoapMessageToSend = { Type: 2, Code: '2.05', MessageId: request.MessageId, Token: request.Token, Options: [{ Number: 12 }] };
  return { Tag: p.Tag, Data: JSON.stringify(response) };
};
export const decapsulated: SourcedEntry = {
  Data: 'AQ==',
  Remote: { Address: '203.0.113.42', Port: 51820, PeerKey: 'k' },
  Inner: { SourceAddress: '10.0.0.1', SourcePort: 5683, DestinationAddress: '10.0.0.2', DestinationPort: 5683 },
};
`;

describe('cdk-packet-gateway/handler', () => {
  beforeEach(() => writePackageJson({ typesVersions: HANDLER_TYPES_VERSIONS }));

  test.each(RESOLUTIONS)('a handler written against the types compiles (moduleResolution %s)', (_name, resolution) => {
    expect(typeCheck(HANDLER, resolution)).toEqual([]);
  });

  test('the subpath is what typesVersions provides: without it the import does not resolve', () => {
    writePackageJson({});
    expect(typeCheck(HANDLER).join('\n')).toMatch(/Cannot find module 'cdk-packet-gateway\/handler'/);
  });

  test.each([
    ['a reply without Data', 'export const r: Replies = { Replies: [{ Tag: "t" }] };', /Data/],
    ['a reply Tag that is not a string', 'export const r: Replies = { Replies: [{ Tag: 1, Data: "d" }] };', /number.*string/],
    ['an unknown Formatter', 'export const e: SourcedEntry = { Data: "d", Formatter: "base32", Remote: { Address: "192.0.2.1", Port: 1 } };', /base32/],
    ['a sourced Remote with neither Address nor IP', 'export const e: SourcedEntry = { Data: "d", Remote: { Port: 1 } };', /Address|IP/],
    ['a sourced entry without Remote', 'export const m: SourcedMessage = { Messages: [{ Data: "d" }] };', /Remote/],
    ['sourced Inner addressing without a port', 'export const e: SourcedEntry = { Data: "d", Remote: { Address: "192.0.2.1", Port: 1 }, Inner: { SourceAddress: "10.0.0.1", SourcePort: 1, DestinationAddress: "10.0.0.2" } };', /DestinationPort/],
    ['reading a packet field that does not exist', 'export const f = (p: Packet) => p.Remote.Address;', /Address/],
  ])('rejects %s', (_name, line, message) => {
    const source = "import type { Packet, Replies, SourcedEntry, SourcedMessage } from 'cdk-packet-gateway/handler';\n" + line + '\n';
    const diagnostics = typeCheck(source);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.join('\n')).toMatch(message);
  });
});

/** Relative modules imported by a lib/ file (type-only imports included), resolved to paths. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName);
}

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec) + '.ts');
    }
  }
  return seen;
}

describe('lib/handler.ts', () => {
  test('is outside the jsii API: lib/index.ts does not reach it', () => {
    expect([...reachable(join(LIB, 'index.ts'))]).not.toContain(join(LIB, 'handler.ts'));
  });

  test('is pure: it and what it imports load no package (aws-cdk-lib, constructs, node)', () => {
    const packages = [...reachable(join(LIB, 'handler.ts'))].flatMap(importsOf).filter((spec) => !spec.startsWith('.'));
    expect(packages).toEqual([]);
  });
});
