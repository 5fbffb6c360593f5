/**
 * Local mode keeps a WireGuard Listener's private key in a file (`.local/<Listener>.key`), created
 * once with mode 0600, so the public key stays the same across restarts. The key is never logged.
 *
 * The file is written atomically: the key goes to a temporary file in the same directory, which is
 * flushed to disk and then linked (or renamed) into place, so a failed write (a full disk) never
 * leaves a partial key file behind. A 0-byte key file, which is what a write cut short by an
 * earlier version left, is replaced; any other content that is not a key is an error.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync as fsWriteSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { generatePrivateKey, isBase64Key } from './keys';

/** The file write the key goes through (replaceable to simulate a failing disk). */
export interface KeyFileWriter {
  /** Writes all of `text` to the open file `fd`; throws on failure (e.g. ENOSPC). */
  writeSync(fd: number, text: string): void;
}

const NODE_WRITER: KeyFileWriter = {
  writeSync: (fd, text) => {
    const data = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < data.length) written += fsWriteSync(fd, data, written, data.length - written);
  },
};

/**
 * Reads the base64 private key in `path`, or creates the file with a new key (directory 0700,
 * file 0600) when it does not exist or is empty. Throws naming the file when it exists but holds
 * something else, or when it cannot be written.
 */
export function loadOrCreatePrivateKeyFile(path: string, writer: KeyFileWriter = NODE_WRITER): { privateKey: string; created: boolean } {
  const existing = readKey(path);
  if (existing.kind === 'key') return { privateKey: existing.key, created: false };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const privateKey = generatePrivateKey();
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeDurably(temp, `${privateKey}\n`, writer);
    if (existing.kind === 'empty') {
      renameSync(temp, path);
    } else {
      // link, unlike rename, never replaces a key another process put there meanwhile
      linkSync(temp, path);
      unlinkSync(temp);
    }
  } catch (error) {
    removeQuietly(temp);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = readKey(path);
      if (theirs.kind === 'key') return { privateKey: theirs.key, created: false };
    }
    throw new Error(`cannot create WireGuard key file ${path}: ${(error as Error).message} (free space or fix the permissions of ${dirname(path)}, then start again)`);
  }
  syncDirectory(dirname(path));
  return { privateKey, created: true };
}

type ExistingKey = { kind: 'key'; key: string } | { kind: 'missing' } | { kind: 'empty' };

function readKey(path: string): ExistingKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new Error(`cannot read WireGuard key file ${path}: ${(error as Error).message}`);
  }
  if (text.length === 0) return { kind: 'empty' };
  const key = text.trim();
  if (!isBase64Key(key)) {
    throw new Error(
      `WireGuard key file ${path} does not hold a private key (expected one line: 44 characters of base64, as 'wg genkey' prints); ` +
        "put the Listener's private key back, or delete it to generate a new key (the Listener's public key then changes, so peers need the new one)",
    );
  }
  return { kind: 'key', key };
}

/** Creates `path` (mode 0600, must not exist), writes `text` and flushes it to disk. */
function writeDurably(path: string, text: string, writer: KeyFileWriter): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writer.writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the new directory entry durable; best effort (not every file system allows it). */
function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the key file itself is already on disk
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}
