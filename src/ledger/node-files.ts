/**
 * Where a node keeps its ledger files, under its state directory (default ./.maxwell):
 *
 *   ledger.db            the ledger (SQLite, WAL: also ledger.db-wal and ledger.db-shm)
 *   node-key.pem         the node's Ed25519 key (0600): the treasury wallet, signs epochs and bills
 *   wallets/NAME.pem     wallet keys made by `maxwell wallet new` (0600)
 *
 * The shell around the ledger core: the CLI and the node open ledgers through here.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_STATE_DIR } from '../energy/calibration.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { hex } from './format.js';
import { loadKey, loadOrCreateKey, parseWallet, type KeyPair } from './keys.js';
import { Ledger } from './ledger.js';
import { SqliteStore } from './sqlite-store.js';

export { DEFAULT_STATE_DIR };
/** The node's power cap when none is configured (W): a small server's budget. */
export const DEFAULT_POWER_CAP_W = 100;

export const ledgerPath = (stateDir: string) => join(stateDir, 'ledger.db');
export const nodeKeyPath = (stateDir: string) => join(stateDir, 'node-key.pem');
export const walletDir = (stateDir: string) => join(stateDir, 'wallets');
const WALLET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function walletKeyPath(stateDir: string, name: string): string {
  if (!WALLET_NAME.test(name) || name.startsWith('.')) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a wallet name is 1–64 letters, digits, '_', '-' or '.', not starting with '.': '${name}'`);
  }
  return join(walletDir(stateDir), `${name}.pem`);
}

export function nodeKey(stateDir: string): KeyPair {
  return loadOrCreateKey(nodeKeyPath(stateDir));
}

/** A wallet given as 64 hex digits, or as the name of a key in the state directory's wallets/. */
export function resolveWallet(stateDir: string, s: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return parseWallet(s);
  const path = walletKeyPath(stateDir, s);
  if (!existsSync(path)) {
    throw new MaxwellError(ErrorCode.WALLET_INVALID, `'${s}' is neither a wallet key in hex (64 digits) nor a wallet in ${walletDir(stateDir)} (${listWallets(stateDir).join(', ') || 'none yet: maxwell wallet new NAME'})`);
  }
  return loadKey(path).raw;
}

/** The key pair of a named wallet (to sign its transfers). */
export function walletKey(stateDir: string, name: string): KeyPair {
  const path = walletKeyPath(stateDir, name);
  if (!existsSync(path)) throw new MaxwellError(ErrorCode.KEY_INVALID, `no wallet key ${path}: make one with \`maxwell wallet new ${name}\``);
  return loadKey(path);
}

export function listWallets(stateDir: string): string[] {
  try {
    return readdirSync(walletDir(stateDir)).filter((f) => f.endsWith('.pem')).map((f) => f.slice(0, -4)).sort();
  } catch {
    return [];
  }
}

export interface OpenOptions {
  stateDir?: string;
  /** The ledger file (default STATE/ledger.db). */
  db?: string;
  powerCapW?: number;
  now?: () => number;
}

/** Opens (or creates) the node's ledger for writing, with the node's key. */
export function openNodeLedger(o: OpenOptions = {}): Ledger {
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR;
  const key = nodeKey(stateDir);
  const store = new SqliteStore(o.db ?? ledgerPath(stateDir));
  try {
    // A new ledger's maximum cap is at least the default, so that a node first run under a lower
    // cap (the demo's) can later run at the default.
    const powerCapW = o.powerCapW ?? DEFAULT_POWER_CAP_W;
    return Ledger.open({ store, nodeKey: key, powerCapW, maxPowerCapW: Math.max(powerCapW, DEFAULT_POWER_CAP_W), ...(o.now ? { now: o.now } : {}) });
  } catch (err) {
    store.close();
    throw err;
  }
}

/** Opens a ledger file read-only (verify, tail, receipts); it must exist. */
export function openLedgerReadonly(path: string): SqliteStore {
  if (!existsSync(path)) throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `no ledger at ${path}`, { path });
  return new SqliteStore(path, { readonly: true });
}

export const describeWallet = (w: Buffer) => hex(w);
