/**
 * Ed25519 keys (node:crypto): the node's key signs epochs and bills; a wallet is the raw 32-byte
 * public key of a key pair whose private half signs its transfers. Keys are stored as PKCS#8 PEM
 * files, readable by their owner only (mode 0600), created with O_EXCL so that two processes
 * starting at once cannot each write a different key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, MaxwellError } from '../errors.js';
import { WALLET_BYTES } from './format.js';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The raw 32-byte public key: the wallet, or the node's identity. */
  raw: Buffer;
}

export function rawPublicKey(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new MaxwellError(ErrorCode.KEY_INVALID, 'not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function generateKey(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, raw: rawPublicKey(publicKey) };
}

export function keyFromPem(pem: string, where = 'the key'): KeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new MaxwellError(ErrorCode.KEY_INVALID, `${where} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new MaxwellError(ErrorCode.KEY_INVALID, `${where} is a ${privateKey.asymmetricKeyType} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, raw: rawPublicKey(publicKey) };
}

export function loadKey(path: string): KeyPair {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MaxwellError(ErrorCode.KEY_INVALID, `cannot read the key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path });
  }
  return keyFromPem(pem, path);
}

/** Writes a new key to `path` (which must not exist). */
export function saveNewKey(path: string, k: KeyPair): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const pem = k.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    writeFileSync(path, pem, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${path} already exists: not overwriting a key`, { path });
    throw err;
  }
}

/** The key at `path`, created on first use. */
export function loadOrCreateKey(path: string): KeyPair {
  try {
    return loadKey(path);
  } catch (err) {
    if (!(err instanceof MaxwellError) || !/ENOENT/.test(err.message)) throw err;
  }
  const k = generateKey();
  try {
    saveNewKey(path, k);
    return k;
  } catch (err) {
    // Another process created it between our read and our write: use theirs.
    if (err instanceof MaxwellError && err.code === ErrorCode.BAD_ARGUMENT) return loadKey(path);
    throw err;
  }
}

export function signWith(k: KeyPair, message: Buffer): Buffer {
  return sign(null, message, k.privateKey);
}

/** A wallet given as 64 hex digits. */
export function parseWallet(s: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    throw new MaxwellError(ErrorCode.WALLET_INVALID, `a wallet is a public key of ${WALLET_BYTES} bytes in hex (64 digits), not '${s.length > 80 ? `${s.slice(0, 80)}…` : s}'`);
  }
  return Buffer.from(s, 'hex');
}

/** Parses an amount of joules ("1", "0.25", "12.000001") to integer µJ, exactly (no floating point). */
export function parseJoulesToUj(s: string): number {
  const m = /^(\d{1,10})(?:\.(\d{1,6}))?$/.exec(s.trim());
  if (m === null) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `an amount is a number of joules with at most 6 decimals and 10 integer digits, not '${s}'`);
  const uj = Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
  if (uj <= 0) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `an amount must be positive, not '${s}'`);
  return uj;
}

/** µJ as joules with all six decimals ("1.500000 J"): exact, for bills. */
export function formatUj(uj: number): string {
  const neg = uj < 0;
  const a = Math.abs(uj);
  return `${neg ? '-' : ''}${Math.floor(a / 1_000_000)}.${String(a % 1_000_000).padStart(6, '0')}`;
}

/** PUBKEY: 64 hex digits, or a PEM file holding an Ed25519 public or private key. */
export function publicKeyFromArg(s: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (!existsSync(s)) throw new MaxwellError(ErrorCode.KEY_INVALID, `--key is a public key in hex (64 digits) or a PEM key file, and '${s}' is neither`);
  let pem: string;
  try {
    pem = readFileSync(s, 'utf8');
  } catch (err) {
    throw new MaxwellError(ErrorCode.KEY_INVALID, `cannot read the key ${s}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: s });
  }
  try {
    // createPublicKey takes a public key, or derives it from a private one.
    const pub = createPublicKey(pem);
    if (pub.asymmetricKeyType !== 'ed25519') throw new MaxwellError(ErrorCode.KEY_INVALID, `${s} is a ${pub.asymmetricKeyType} key, not Ed25519`);
    return rawPublicKey(pub);
  } catch (err) {
    if (err instanceof MaxwellError) throw err;
    throw new MaxwellError(ErrorCode.KEY_INVALID, `${s} is not a PEM public or private key: ${(err as Error).message}`, { path: s });
  }
}
