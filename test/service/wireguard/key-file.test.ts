import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreatePrivateKeyFile } from '../../../service/wireguard/key-file';
import { isBase64Key } from '../../../service/wireguard/keys';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wg-key-file-'));
  file = join(dir, 'demo-wg.key');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function modeOf(path: string): string {
  return (statSync(path).mode % 0o1000).toString(8);
}

/** A write that fails as on a full disk, after the file was opened (like a real ENOSPC). */
function fullDisk(): never {
  throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('loadOrCreatePrivateKeyFile', () => {
  test('creates the key once (mode 0600, one line) and reads the same key afterwards', () => {
    const first = loadOrCreatePrivateKeyFile(file);
    expect(first.created).toBe(true);
    expect(isBase64Key(first.privateKey)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(`${first.privateKey}\n`);
    expect(modeOf(file)).toBe('600');
    expect(loadOrCreatePrivateKeyFile(file)).toEqual({ privateKey: first.privateKey, created: false });
    expect(readdirSync(dir)).toEqual(['demo-wg.key']);
  });

  test('a write that fails (full disk) leaves no key file and no temporary file, and names the file and the cause', () => {
    expect(() => loadOrCreatePrivateKeyFile(file, { writeSync: fullDisk })).toThrow(/cannot create WireGuard key file .*demo-wg\.key: ENOSPC/);
    expect(readdirSync(dir)).toEqual([]);
    // the next start, with space again, creates the key
    const next = loadOrCreatePrivateKeyFile(file);
    expect(next.created).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(next.privateKey);
  });

  test('a 0-byte key file (a write cut short by an earlier start) is replaced with a new key', () => {
    writeFileSync(file, '', { mode: 0o600 });
    const got = loadOrCreatePrivateKeyFile(file);
    expect(got.created).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(`${got.privateKey}\n`);
    expect(modeOf(file)).toBe('600');
    expect(readdirSync(dir)).toEqual(['demo-wg.key']);
  });

  test('a failed replacement of a 0-byte key file leaves it as it was', () => {
    writeFileSync(file, '', { mode: 0o600 });
    expect(() => loadOrCreatePrivateKeyFile(file, { writeSync: fullDisk })).toThrow(/ENOSPC/);
    expect(readdirSync(dir)).toEqual(['demo-wg.key']);
    expect(statSync(file).size).toBe(0);
  });

  test('a key file with other content is an error naming the file and what to do, and is left untouched', () => {
    writeFileSync(file, 'Zm9v\n', { mode: 0o600 });
    let message = '';
    try {
      loadOrCreatePrivateKeyFile(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`WireGuard key file ${file} does not hold a private key`);
    expect(message).toMatch(/delete it to generate a new key/);
    expect(readFileSync(file, 'utf8')).toBe('Zm9v\n');
  });

  test('an existing key is never overwritten: a start that finds one written meanwhile uses it', () => {
    const theirs = loadOrCreatePrivateKeyFile(join(dir, 'other.key')).privateKey;
    const ours = loadOrCreatePrivateKeyFile(file, {
      // another process creates the file between our check and our link
      writeSync: (fd, text) => {
        writeFileSync(file, `${theirs}\n`, { mode: 0o600 });
        return writeFileSyncFd(fd, text);
      },
    });
    expect(ours).toEqual({ privateKey: theirs, created: false });
    expect(readdirSync(dir).sort()).toEqual(['demo-wg.key', 'other.key']);
  });
});

function writeFileSyncFd(fd: number, text: string): void {
  writeFileSync(fd, text);
}
