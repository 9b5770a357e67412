/**
 * What the ledger needs from storage: a small interface, so that the embedded SQLite store
 * (sqlite-store.ts) can be joined later by another (PostgreSQL for a cluster) without touching
 * the ledger's rules.
 *
 * The one write is `commit(batch)`: an epoch's entries, the Merkle nodes they complete, the
 * signed epoch head, the balances they changed and the writer's head state, all or nothing.
 * An epoch is durable when commit returns; a crash before that leaves none of it.
 */
import { endianness } from 'node:os';
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
  entries: StoredEntry[];
  /** Perfect subtrees completed by these entries, of NODE_MIN_SIZE leaves or more. */
  nodes: { start: number; size: number; hash: Buffer }[];
  /** Per wallet (hex) found in the epoch's entries (partiesOf), the seqs of its entries, ascending. */
  wallets: Map<string, number[]>;
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
  /** Every epoch with its entries (firstSeq = the previous epoch's treeSize), in order. */
  epochsWithEntries(fromEpoch?: number): IterableIterator<{ epoch: EpochRecord; entries: StoredEntry[]; firstSeq: number }>;
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
  /** Every (wallet hex, seqs packed by packSeqs) indexed for `epoch`, for the verifier. */
  epochWallets(epoch: number): Map<string, Buffer>;
  /** The stored nodes of `size` leaves whose last leaf is in [fromSeq, toSeq), by start. */
  nodesEndingIn(size: number, fromSeq: number, toSeq: number): IterableIterator<{ start: number; hash: Buffer }>;
  /** Every stored Merkle node, ordered by (size, start). */
  nodes(): IterableIterator<{ start: number; size: number; hash: Buffer }>;
  close(): void;
}

/**
 * Seqs packed as little-endian IEEE-754 doubles (exact below 2^53): the verifier packs the seqs
 * it computes the same way and compares bytes, one call instead of two reads per seq.
 */
export function packSeqs(seqs: number[]): Buffer {
  const f = Float64Array.from(seqs);
  if (endianness() !== 'LE') for (let i = 0; i < f.length; i++) new DataView(f.buffer).setFloat64(i * 8, seqs[i]!, true);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

export function unpackSeqs(b: Buffer): number[] {
  const out: number[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(v.getFloat64(i, true));
  return out;
}
