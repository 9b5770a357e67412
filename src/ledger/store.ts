/**
 * What the ledger needs from storage: a small interface, so that the embedded SQLite store
 * (sqlite-store.ts) can be joined later by another (PostgreSQL for a cluster) without touching
 * the ledger's rules.
 *
 * The one write is `commit(batch)`: an epoch's entries, the Merkle nodes they complete, the
 * signed epoch head, the balances they changed and the writer's head state, all or nothing.
 * An epoch is durable when commit returns; a crash before that leaves none of it.
 */
import type { Genesis } from './format.js';
import type { SubtreeSource } from './merkle.js';

export interface StoredEntry {
  seq: number;
  bytes: Buffer;
  /** The leaf hash the writer computed (a cache: `ledger verify` recomputes it from bytes). */
  hash: Buffer;
}

export interface EpochRecord {
  epoch: number;
  /** Entries in the log up to and including this epoch. */
  treeSize: number;
  timeMs: number;
  root: Buffer;
  signature: Buffer;
}

/** What the writer needs to resume without replaying the log (each epoch stores its own). */
export interface HeadState {
  nextSeq: number;
  lastHash: string;
  lastTimeMs: number;
  mintedUj: number;
  burnedUj: number;
  lastMintEndMs: number;
}

export interface EpochBatch {
  epoch: EpochRecord;
  /** The epoch's first seq and its number of entries. */
  firstSeq: number;
  count: number;
  /** The epoch's entries, concatenated, and their leaf hashes (32 bytes each), concatenated. */
  entries: Buffer;
  hashes: Buffer;
  /** Perfect subtrees completed by these entries, of NODE_MIN_SIZE leaves or more. */
  nodes: { start: number; size: number; hash: Buffer }[];
  /** The epoch's wallet index, packed (packWalletIndex). */
  walletIndex: Buffer;
  /** Wallets whose balance or nonce changed: [wallet hex, balance µJ, last nonce]. */
  balances: [string, number, number][];
  head: HeadState;
}

/**
 * The wallets an entry is found under by receipts: the party that is not the node (the payer of
 * a charge, the payee of a grant), both parties of a transfer, the node for a mint or a burn.
 * The node's wallet is in nearly every entry: indexing it too would double the index.
 */
export function partiesOf(from: Buffer, to: Buffer, nodeKey: Buffer, zero: Buffer): [Buffer, Buffer | null] {
  const fromOther = !from.equals(nodeKey) && !from.equals(zero);
  const toOther = !to.equals(nodeKey) && !to.equals(zero);
  if (fromOther && toOther) return [from, to];
  if (fromOther) return [from, null];
  if (toOther) return [to, null];
  return [nodeKey, null];
}

/** Subtrees smaller than this are hashed from the leaves when a proof needs them, not stored. */
export const NODE_MIN_SIZE = 16;

export interface LedgerStore extends SubtreeSource {
  readonly path: string;
  genesis(): Genesis | undefined;
  /** Records a new ledger's genesis; refuses if one is already recorded. */
  init(g: Genesis): void;
  lastEpoch(): EpochRecord | undefined;
  epoch(n: number): EpochRecord | undefined;
  /** Every epoch, in order. */
  epochs(): IterableIterator<EpochRecord>;
  head(): HeadState | undefined;
  balances(): [string, number, number][];
  commit(batch: EpochBatch): void;
  /** Every epoch from `fromEpoch` with its entries as stored: concatenated bytes and leaf hashes (the verifier's path). */
  epochBlobs(fromEpoch: number): IterableIterator<{ epoch: EpochRecord; entries: Buffer; hashes: Buffer; firstSeq: number }>;
  /** The entries of one epoch ([] if there is no such epoch). */
  epochEntries(epoch: number): StoredEntry[];
  /** Committed entries with fromSeq ≤ seq < toSeq, in order. */
  entries(fromSeq: number, toSeq: number): IterableIterator<StoredEntry>;
  /** The epoch that committed entry `seq`, if it is committed. */
  epochOf(seq: number): number | undefined;
  /** The epochs whose seal time is ≥ fromMs, up to and including the first sealed after toMs: every epoch that can hold an entry timed in [fromMs, toMs]. */
  epochsBetween(fromMs: number, toMs: number): EpochRecord[];
  /** The seqs of `wallet`'s entries (partiesOf) in `epoch`, ascending. */
  walletSeqs(epoch: number, wallet: Buffer): number[];
  /** The packed wallet index of `epoch` (packWalletIndex), for the verifier; empty if no such epoch. */
  epochWallets(epoch: number): Buffer;
  /** The stored nodes of `size` leaves whose last leaf is in [fromSeq, toSeq), by start. */
  nodesEndingIn(size: number, fromSeq: number, toSeq: number): IterableIterator<{ start: number; hash: Buffer }>;
  /** The stored leaf groups (NODE_MIN_SIZE leaf hashes each, for proofs) covering [fromSeq, toSeq), concatenated from the group of fromSeq. */
  leafGroups(fromSeq: number, toSeq: number): Buffer;
  /** Every stored Merkle node, ordered by (size, start). */
  nodes(): IterableIterator<{ start: number; size: number; hash: Buffer }>;
  /**
   * Reads between beginRead and endRead see one snapshot of the store, whatever a writer
   * commits meanwhile (verify and receipts compare things read at different moments). Nests.
   */
  beginRead(): void;
  endRead(): void;
  close(): void;
}

/**
 * An epoch's wallet index, one blob: the wallets its entries are indexed under (partiesOf),
 * sorted by key, each with the positions of its entries in the epoch. Layout (big-endian):
 *   u32 wallets; then per wallet: key [32], first u32, count u32 (into the positions below);
 *   then the positions: u32 each, entry seq − the epoch's first seq.
 * The writer packs it at seal time; the verifier packs the index its replay computes the same
 * way and compares bytes; a receipt finds a wallet by binary search.
 */
export function packWalletIndex(wallets: Map<string, number[]>, firstSeq: number): Buffer {
  const keys = [...wallets.keys()].sort();
  let total = 0;
  for (const k of keys) total += wallets.get(k)!.length;
  const b = Buffer.allocUnsafe(4 + keys.length * 40 + total * 4);
  b.writeUInt32BE(keys.length, 0);
  let at = 4;
  let pos = 4 + keys.length * 40;
  let first = 0;
  for (const k of keys) {
    const seqs = wallets.get(k)!;
    b.write(k, at, 32, 'hex');
    b.writeUInt32BE(first, at + 32);
    b.writeUInt32BE(seqs.length, at + 36);
    at += 40;
    for (const seq of seqs) {
      b.writeUInt32BE(seq - firstSeq, pos);
      pos += 4;
    }
    first += seqs.length;
  }
  return b;
}

/** The seqs of `wallet` in a packed wallet index ([] if it is not there, or the index is malformed). */
export function lookupWalletIndex(index: Buffer, wallet: Buffer, firstSeq: number): number[] {
  if (index.length < 4) return [];
  const n = index.readUInt32BE(0);
  if (index.length < 4 + n * 40) return [];
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = 4 + mid * 40;
    const c = index.compare(wallet, 0, 32, at, at + 32);
    if (c === 0) {
      const first = index.readUInt32BE(at + 32);
      const count = index.readUInt32BE(at + 36);
      const base = 4 + n * 40 + first * 4;
      if (index.length < base + count * 4) return [];
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(firstSeq + index.readUInt32BE(base + i * 4));
      return out;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return [];
}
