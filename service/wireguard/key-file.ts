/**
 * Local mode keeps a WireGuard Listener's private key in a file (`.local/<Listener>.key`), created
 * once with mode 0600, so the public key stays the same across restarts. The key is never logged.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generatePrivateKey, isBase64Key } from './keys';

/**
 * Reads the base64 private key in `path`, or creates the file with a new key (directory 0700,
 * file 0600) when it does not exist. Throws naming the file when it exists but holds no key.
 */
export function loadOrCreatePrivateKeyFile(path: string): { privateKey: string; created: boolean } {
  const existing = readKey(path);
  if (existing !== undefined) return { privateKey: existing, created: false };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const privateKey = generatePrivateKey();
  try {
    writeFileSync(path, `${privateKey}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = readKey(path);
      if (theirs !== undefined) return { privateKey: theirs, created: false };
    }
    throw new Error(`cannot create WireGuard key file ${path}: ${(error as Error).message}`);
  }
  chmodSync(path, 0o600);
  return { privateKey, created: true };
}

function readKey(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read WireGuard key file ${path}: ${(error as Error).message}`);
  }
  const key = text.trim();
  if (!isBase64Key(key)) throw new Error(`WireGuard key file ${path} does not hold a private key (expected one line: 44 characters of base64, as 'wg genkey' prints)`);
  return key;
}
