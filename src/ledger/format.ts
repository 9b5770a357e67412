/**
 * The ledger's format: entries, their encoding, their hashes, and the signed epoch heads.
 * This file owns the format; docs/ledger.md says the same in prose, with the validity rules.
 *
 * ## Units
 * Every amount and balance is an integer number of microjoules (µJ) of the node's energy
 * budget: 1 token = 1 J = 1,000,000 µJ. Amounts are JavaScript safe integers (< 2^53, about
 * 9.0 × 10⁹ J) and the ledger refuses anything that would leave that range. Prices are integer
 * micro-tokens per joule (`priceUtPerJ`: 1,000,000 = 1 token per J).
 *
 * ## Entry (version 1), big-endian, fixed layout
 *
 *   offset size field
 *        0    1 version            = 1
 *        1    1 kind               Kind below
 *        2    8 seq                0, 1, 2, ... with no gaps
 *       10    8 timeMs             node time (ms since the Unix epoch), never decreasing
 *       18   32 prevHash           leaf hash of entry seq-1; for seq 0, genesisHash(genesis)
 *       50   32 from               the wallet paying (ZERO_WALLET for a mint)
 *       82   32 to                 the wallet paid (ZERO_WALLET for a burn)
 *      114    8 amountUj           > 0, except death, which may carry 0
 *      122    8 fromBalanceUj      `from`'s balance after this entry (0 for a mint)
 *      130    8 toBalanceUj        `to`'s balance after this entry (0 for a burn)
 *      138    … body               by kind:
 *        mint        periodStartMs u64, periodEndMs u64, powerCapMw u64        (24)
 *        grant       —                                                         (0)
 *        transfer    nonce u64, signature [64] (Ed25519 by `from`, see transferMessage) (72)
 *        charge      pid u32, fuel u64, energyUj u64, priceUtPerJ u64, basis u8 (29)
 *        rent        pid u32, periodMs u32, memoryBytes u64                    (16)
 *        erasure_tax pid u32, bytes u64                                        (12)
 *        reward      pid u32, milliBits u64                                    (12)
 *        burn        —                                                         (0)
 *        death       pid u32, reason u8                                        (5)
 *        query_fee   pid u32, samples u64                                      (12)
 *
 * Wallets are raw 32-byte Ed25519 public keys. The node's own wallet (the treasury) is the node
 * key: charges, rent, taxes and deaths pay it; grants and rewards come from it; only it mints
 * (into itself) and burns. Recording both parties' balances after every entry makes a bill
 * checkable for completeness: consecutive entries of one wallet must chain (docs/ledger.md).
 *
 * ## Hashes (RFC 6962 / 9162)
 * leafHash(entry) = SHA-256(0x00 ‖ entry bytes); node hash = SHA-256(0x01 ‖ left ‖ right). The
 * leaf hash of an entry is also the next entry's prevHash, so one hash per entry serves both the
 * chain and the Merkle tree. genesisHash = SHA-256("maxwell-ledger-v1" ‖ nodeKey ‖ genesisTimeMs u64 ‖
 * maxPowerCapMw u64) ties a log to its node, its start and the most power it may ever mint for:
 * a log cannot be grafted onto another node's key, nor its mint bound raised after the fact.
 *
 * ## Mint bound
 * A mint covers a period [periodStartMs, periodEndMs) of the node's power budget: periods do not
 * overlap, start no earlier than the genesis time, end no later than the entry's time, and
 * amountUj ≤ powerCapMw × (periodEndMs − periodStartMs) (1 mW for 1 ms is 1 µJ), with powerCapMw
 * ≤ maxPowerCapMw. So the tokens minted for any window of time are at most the energy the cap
 * allows in it: the supply is backed by the node's power budget.
 *
 * ## Epoch head (what the node signs once per epoch)
 *   "maxwell-epoch-v1" (16 bytes) ‖ nodeKey [32] ‖ epoch u64 ‖ treeSize u64 ‖ timeMs u64 ‖ root [32]
 * root is the RFC 6962 Merkle tree hash of the first treeSize entries (the whole log so far, not
 * just the epoch's entries), so an inclusion proof against any epoch covers any earlier entry
 * and consistency proofs link any two epochs.
 */
import { hash as cryptoHash } from 'node:crypto';
import { assert } from '../assert.js';

export const FORMAT_VERSION = 1;

export const Kind = {
  mint: 1,
  grant: 2,
  transfer: 3,
  charge: 4,
  rent: 5,
  erasure_tax: 6,
  reward: 7,
  burn: 8,
  death: 9,
  /** A requester pays the node for the queries it gives a process (proof of useful work, docs/proof.md). */
  query_fee: 10,
} as const;
export type KindName = keyof typeof Kind;
export type KindCode = (typeof Kind)[KindName];
export const KIND_NAMES: readonly (KindName | undefined)[] = (() => {
  const names: (KindName | undefined)[] = [];
  for (const [name, code] of Object.entries(Kind)) names[code] = name as KindName;
  return names;
})();

/** Why a process died (death entries). */
export const DeathReason = {
  cannot_pay_rent: 1,
  cannot_pay_charge: 2,
  killed: 3,
  exited: 4,
  trapped: 5,
  /** The node stopped (crashed, or was killed) while the process was alive: found at the next start. */
  lost: 6,
} as const;
export type DeathReasonName = keyof typeof DeathReason;

/** How a charge's energy was known (charge entries). */
export const Basis = { estimated: 0, measured: 1 } as const;
export type BasisName = keyof typeof Basis;

export const WALLET_BYTES = 32;
export const HASH_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const HEADER_BYTES = 138;
export const ZERO_WALLET: Buffer = Buffer.alloc(WALLET_BYTES);
/** The most µJ one amount or balance may hold (2^53 − 1). */
export const MAX_UJ = Number.MAX_SAFE_INTEGER;
export const UJ_PER_J = 1_000_000;
/** priceUtPerJ of 1 token per joule. */
export const PRICE_UNIT = 1_000_000;

const BODY_BYTES: Record<KindCode, number> = { 1: 24, 2: 0, 3: 72, 4: 29, 5: 16, 6: 12, 7: 12, 8: 0, 9: 5, 10: 12 };
export const MAX_ENTRY_BYTES = HEADER_BYTES + 72;

/** The length of the entry starting at `at` in a concatenation of entries (from its kind byte), or -1 if that is not an entry's start. */
export function entryLengthAt(b: Buffer, at: number): number {
  if (at + HEADER_BYTES > b.length || b[at] !== FORMAT_VERSION) return -1;
  const body = BODY_BYTES[b[at + 1] as KindCode];
  return body === undefined ? -1 : HEADER_BYTES + body;
}

interface Common {
  seq: number;
  timeMs: number;
  prevHash: Buffer;
  from: Buffer;
  to: Buffer;
  amountUj: number;
  fromBalanceUj: number;
  toBalanceUj: number;
}
export type Entry = Common &
  (
    | { kind: 'mint'; periodStartMs: number; periodEndMs: number; powerCapMw: number }
    | { kind: 'grant' }
    | { kind: 'transfer'; nonce: number; signature: Buffer }
    | { kind: 'charge'; pid: number; fuel: number; energyUj: number; priceUtPerJ: number; basis: BasisName }
    | { kind: 'rent'; pid: number; periodMs: number; memoryBytes: number }
    | { kind: 'erasure_tax'; pid: number; bytes: number }
    | { kind: 'reward'; pid: number; milliBits: number }
    | { kind: 'burn' }
    | { kind: 'death'; pid: number; reason: DeathReasonName }
    | { kind: 'query_fee'; pid: number; samples: number }
  );

const BASIS_NAMES: BasisName[] = ['estimated', 'measured'];
const REASON_NAMES: (DeathReasonName | undefined)[] = [];
for (const [name, code] of Object.entries(DeathReason)) REASON_NAMES[code] = name as DeathReasonName;

// u64 fields hold safe integers: written as two u32 halves (no BigInt on the hot path).
function putU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 0x1_0000_0000), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}
/** A u64 field that must hold a safe integer (FormatError otherwise). */
export function readU64(b: Buffer, at: number): number {
  // Byte by byte: readUInt32BE's argument checks cost more than the read on the verifier's path.
  const hi = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  if (hi > 0x1f_ffff) throw new FormatError(`a u64 at byte ${at} is above 2^53`);
  return hi * 0x1_0000_0000 + (((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0);
}

/** The bytes do not decode to a version-1 entry (a corrupt or foreign record). */
export class FormatError extends Error {
  override name = 'FormatError';
}

export function encodeEntry(e: Entry): Buffer {
  const code = Kind[e.kind];
  const b = Buffer.allocUnsafe(HEADER_BYTES + BODY_BYTES[code]);
  b[0] = FORMAT_VERSION;
  b[1] = code;
  putU64(b, 2, e.seq);
  putU64(b, 10, e.timeMs);
  e.prevHash.copy(b, 18);
  e.from.copy(b, 50);
  e.to.copy(b, 82);
  putU64(b, 114, e.amountUj);
  putU64(b, 122, e.fromBalanceUj);
  putU64(b, 130, e.toBalanceUj);
  const o = HEADER_BYTES;
  switch (e.kind) {
    case 'mint': putU64(b, o, e.periodStartMs); putU64(b, o + 8, e.periodEndMs); putU64(b, o + 16, e.powerCapMw); break;
    case 'transfer': putU64(b, o, e.nonce); e.signature.copy(b, o + 8); break;
    case 'charge':
      b.writeUInt32BE(e.pid, o); putU64(b, o + 4, e.fuel); putU64(b, o + 12, e.energyUj); putU64(b, o + 20, e.priceUtPerJ);
      b[o + 28] = Basis[e.basis];
      break;
    case 'rent': b.writeUInt32BE(e.pid, o); b.writeUInt32BE(e.periodMs, o + 4); putU64(b, o + 8, e.memoryBytes); break;
    case 'erasure_tax': b.writeUInt32BE(e.pid, o); putU64(b, o + 4, e.bytes); break;
    case 'reward': b.writeUInt32BE(e.pid, o); putU64(b, o + 4, e.milliBits); break;
    case 'query_fee': b.writeUInt32BE(e.pid, o); putU64(b, o + 4, e.samples); break;
    case 'death': b.writeUInt32BE(e.pid, o); b[o + 4] = DeathReason[e.reason]; break;
    case 'grant': case 'burn': break;
  }
  return b;
}

export function decodeEntry(b: Buffer): Entry {
  if (b.length < HEADER_BYTES) throw new FormatError(`an entry is at least ${HEADER_BYTES} bytes, not ${b.length}`);
  if (b[0] !== FORMAT_VERSION) throw new FormatError(`unknown entry version ${b[0]}`);
  const kind = KIND_NAMES[b[1]!];
  if (kind === undefined) throw new FormatError(`unknown entry kind ${b[1]}`);
  if (b.length !== HEADER_BYTES + BODY_BYTES[Kind[kind]]) throw new FormatError(`a ${kind} entry is ${HEADER_BYTES + BODY_BYTES[Kind[kind]]} bytes, not ${b.length}`);
  // Each kind's object is built whole (no spreads): decoding is on the verifier's hot path.
  const seq = readU64(b, 2);
  const timeMs = readU64(b, 10);
  const prevHash = b.subarray(18, 50);
  const from = b.subarray(50, 82);
  const to = b.subarray(82, 114);
  const amountUj = readU64(b, 114);
  const fromBalanceUj = readU64(b, 122);
  const toBalanceUj = readU64(b, 130);
  const o = HEADER_BYTES;
  switch (kind) {
    case 'mint': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, periodStartMs: readU64(b, o), periodEndMs: readU64(b, o + 8), powerCapMw: readU64(b, o + 16) };
    case 'grant': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj };
    case 'burn': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj };
    case 'transfer': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, nonce: readU64(b, o), signature: b.subarray(o + 8, o + 72) };
    case 'charge': {
      const basis = BASIS_NAMES[b[o + 28]!];
      if (basis === undefined) throw new FormatError(`unknown energy basis ${b[o + 28]}`);
      return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), fuel: readU64(b, o + 4), energyUj: readU64(b, o + 12), priceUtPerJ: readU64(b, o + 20), basis };
    }
    case 'rent': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), periodMs: b.readUInt32BE(o + 4), memoryBytes: readU64(b, o + 8) };
    case 'erasure_tax': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), bytes: readU64(b, o + 4) };
    case 'reward': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), milliBits: readU64(b, o + 4) };
    case 'query_fee': return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), samples: readU64(b, o + 4) };
    case 'death': {
      const reason = REASON_NAMES[b[o + 4]!];
      if (reason === undefined) throw new FormatError(`unknown death reason ${b[o + 4]}`);
      return { kind, seq, timeMs, prevHash, from, to, amountUj, fromBalanceUj, toBalanceUj, pid: b.readUInt32BE(o), reason };
    }
  }
}

export function sha256(...parts: Buffer[]): Buffer {
  return cryptoHash('sha256', parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer') as unknown as Buffer;
}

// Scratch space for the two hashes every entry costs: copying into it is cheaper than
// allocating a concatenation (the hashes are most of the ledger's CPU time).
const leafScratch = Buffer.alloc(1 + MAX_ENTRY_BYTES);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeScratch[0] = 1;

/** RFC 6962 leaf hash, SHA-256(0x00 ‖ entry); also the next entry's prevHash. */
export function leafHash(entryBytes: Buffer): Buffer {
  if (entryBytes.length > MAX_ENTRY_BYTES) return sha256(Buffer.from([0]), entryBytes);
  leafScratch[0] = 0;
  entryBytes.copy(leafScratch, 1);
  return cryptoHash('sha256', leafScratch.subarray(0, 1 + entryBytes.length), 'buffer') as unknown as Buffer;
}

const leafViews: Buffer[] = [];

/** leafHashAt as a latin1 string: no Buffer to allocate (~0.25 µs a hash instead of ~0.7). */
export function leafHashLatinAt(b: Buffer, at: number, len: number): string {
  assert(len <= MAX_ENTRY_BYTES, 'an entry fits the scratch buffer');
  leafScratch[0] = 0;
  b.copy(leafScratch, 1, at, at + len);
  let view = leafViews[len];
  if (view === undefined) leafViews[len] = view = leafScratch.subarray(0, 1 + len);
  return cryptoHash('sha256', view, 'binary'); // 'binary' is latin1
}

/** nodeHash of two hashes given as latin1 strings, as a latin1 string. */
export function nodeHashLatin(left: string, right: string): string {
  nodeScratch.write(left, 1, HASH_BYTES, 'latin1');
  nodeScratch.write(right, 1 + HASH_BYTES, HASH_BYTES, 'latin1');
  return cryptoHash('sha256', nodeScratch, 'binary');
}

/** RFC 6962 interior node hash, SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  assert(left.length === HASH_BYTES && right.length === HASH_BYTES, 'a Merkle node joins two 32-byte hashes');
  left.copy(nodeScratch, 1);
  right.copy(nodeScratch, 1 + HASH_BYTES);
  return cryptoHash('sha256', nodeScratch, 'buffer') as unknown as Buffer;
}

/** What identifies a ledger: its node's key, when it started, and the most power it may mint for. */
export interface Genesis {
  nodeKey: Buffer;
  genesisTimeMs: number;
  maxPowerCapMw: number;
}

export function genesisHash(g: Genesis): Buffer {
  assert(g.nodeKey.length === WALLET_BYTES, 'a node key is 32 bytes');
  const b = Buffer.alloc(16);
  putU64(b, 0, g.genesisTimeMs);
  putU64(b, 8, g.maxPowerCapMw);
  return sha256(Buffer.from('maxwell-ledger-v1'), g.nodeKey, b);
}

export interface EpochHead {
  epoch: number;
  treeSize: number;
  timeMs: number;
  root: Buffer;
}

const EPOCH_TAG = Buffer.from('maxwell-epoch-v1');
assert(EPOCH_TAG.length === 16, 'the epoch tag is 16 bytes');

/** The bytes the node signs for an epoch head. */
export function epochMessage(nodeKey: Buffer, h: EpochHead): Buffer {
  const b = Buffer.alloc(16 + 32 + 24 + 32);
  EPOCH_TAG.copy(b, 0);
  nodeKey.copy(b, 16);
  putU64(b, 48, h.epoch);
  putU64(b, 56, h.treeSize);
  putU64(b, 64, h.timeMs);
  h.root.copy(b, 72);
  return b;
}

const TRANSFER_TAG = Buffer.from('maxwell-transfer-v1');

/**
 * The bytes a sender signs for a transfer: bound to the ledger (its node key), both wallets,
 * the amount and the sender's nonce, so that a signed transfer cannot be replayed on this
 * ledger (the nonce), on another node's ledger (the node key), or for another amount or payee.
 */
export function transferMessage(nodeKey: Buffer, from: Buffer, to: Buffer, amountUj: number, nonce: number): Buffer {
  const b = Buffer.alloc(TRANSFER_TAG.length + 32 * 3 + 16);
  let o = TRANSFER_TAG.copy(b, 0);
  o += nodeKey.copy(b, o);
  o += from.copy(b, o);
  o += to.copy(b, o);
  putU64(b, o, amountUj);
  putU64(b, o + 8, nonce);
  return b;
}

/** ceil(energyUj × priceUtPerJ / 10⁶), exactly (BigInt when the product leaves the safe range): charges round up. */
export function chargeAmountUj(energyUj: number, priceUtPerJ: number): number {
  const p = energyUj * priceUtPerJ;
  if (p <= MAX_UJ) {
    // Integer arithmetic only: p % 10⁶ is exact, and so is dividing an exact multiple of 10⁶.
    const r = p % PRICE_UNIT;
    return (p - r) / PRICE_UNIT + (r === 0 ? 0 : 1);
  }
  const q = (BigInt(energyUj) * BigInt(priceUtPerJ) + BigInt(PRICE_UNIT - 1)) / BigInt(PRICE_UNIT);
  return q > BigInt(MAX_UJ) ? Infinity : Number(q);
}

export const hex = (b: Buffer): string => b.toString('hex');
