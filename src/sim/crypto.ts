/**
 * Real Ed25519 for the simulated nodes, made affordable.
 *
 * Every node has a real Ed25519 key (node:crypto), derived from the run's seed so that a run
 * replays byte for byte (the same keys sign the same messages into the same signatures:
 * Ed25519 signing is deterministic). Signing is done for real, every time, by the heat
 * protocol's own Ed25519 (ed25519Crypto).
 *
 * Verifying is memoised: gossip relays one signed claim to every node, so the same
 * (public key, message, signature) is checked a thousand times. The cache is process-wide: it
 * finds an answer by the signature and uses it only if the public key and the message are the
 * same bytes as those it was given for, and it holds the answer that node:crypto gave for them,
 * true or false; a lookup therefore answers exactly what verifying would (Ed25519 verification
 * is a pure function of the three byte strings). It is not a fake: a forged or altered message
 * is new bytes, a miss, and is verified for real.
 *
 * A limit on everything: the cache is a table of at most `maxEntries` slots
 * (a power of two) in sets of four, each holding the three byte strings and the answer in one
 * 256-byte row; a new answer takes the oldest row of its set. Flat, not a Map of objects: a hit then
 * touches one row of contiguous memory instead of a hash bucket, an object and three arrays,
 * which at a thousand nodes (a million hits a simulated quarter hour) was most of a hit's cost.
 * The claims alive in a cluster at once are thousands, so 65,536 slots (16 MiB) rarely evict
 * one that is still spreading; an eviction only means a real verification.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { rawPublicKey } from '../ledger/keys.js';

/** What the heat protocol asks of its crypto (structurally, HeatCrypto in src/thermal/protocol.ts). */
export interface SignVerify {
  sign(message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export interface CryptoStats {
  signs: number;
  signMs: number;
  verifies: number;
  verifyMs: number;
  cacheHits: number;
}

/** The PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SimKey {
  privateKey: KeyObject;
  /** The raw 32-byte public key. */
  publicKey: Uint8Array;
}

/** Keys made so far, by seed and node: a benchmark runs several policies on one seed. */
const KEYS = new Map<string, SimKey>();
const KEYS_MAX = 200_000;

/** Node i's key in a run with this seed: the same every time. */
export function simKey(seed: number, node: number): SimKey {
  const id = `${seed >>> 0}/${node}`;
  let k = KEYS.get(id);
  if (k === undefined) {
    k = makeKey(seed, node);
    if (KEYS.size >= KEYS_MAX) KEYS.clear();
    KEYS.set(id, k);
  }
  return k;
}

function makeKey(seed: number, node: number): SimKey {
  const secret = createHash('sha256').update(`maxwell-sim/${seed >>> 0}/${node}`).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: new Uint8Array(rawPublicKey(createPublicKey(privateKey))) };
}

/** One row: [state (0 empty, 1 false, 2 true), signature length, key length, message length], then the bytes. */
const ROW_BYTES = 256;
const ROW_HEADER = 4;
const ROW_EMPTY = 0;
const ROW_FALSE = 1;
const ROW_TRUE = 2;

function sameAt(t: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (t[at + i] !== b[i]) return false;
  return true;
}

export class VerifyCache {
  /** Answers held at most: the largest power of two ≤ the limit asked for. */
  readonly maxEntries: number;
  /** Rows per set: a handful of claims whose signatures share a set do not evict each other. */
  private readonly ways: number;
  private readonly shift: number;
  private readonly table: Uint8Array;
  private readonly victim: Uint8Array;
  private used = 0;
  readonly stats: CryptoStats = { signs: 0, signMs: 0, verifies: 0, verifyMs: 0, cacheHits: 0 };

  constructor(maxEntries = 1 << 16) {
    if (!(Number.isSafeInteger(maxEntries) && maxEntries >= 1 && maxEntries <= 1 << 20)) throw new RangeError('a verify cache holds 1 to 2^20 answers');
    const bits = Math.floor(Math.log2(maxEntries));
    this.maxEntries = 2 ** bits;
    this.ways = Math.min(4, this.maxEntries);
    const sets = this.maxEntries / this.ways;
    this.shift = 32 - Math.log2(sets);
    this.table = new Uint8Array(this.maxEntries * ROW_BYTES);
    this.victim = new Uint8Array(sets);
  }

  get size(): number {
    return this.used;
  }

  /**
   * The answer for these bytes: from the cache, or from `inner` (and then remembered). The row
   * is chosen by the signature's first 4 bytes (uniform for honest signatures; a forger who
   * aims at one row only evicts answers, which are then verified again) and its answer used
   * only if all three byte strings are the same.
   */
  verify(inner: SignVerify, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const sl = signature.length;
    const kl = publicKey.length;
    const ml = message.length;
    const fits = sl >= 4 && ROW_HEADER + sl + kl + ml <= ROW_BYTES;
    let set = -1;
    if (fits) {
      const t = this.table;
      const word = signature[0]! | (signature[1]! << 8) | (signature[2]! << 16) | (signature[3]! << 24);
      // Fibonacci hashing; a shift by 32 (one set) would be a shift by 0 in JavaScript.
      set = this.shift >= 32 ? 0 : Math.imul(word, 0x9e3779b1) >>> this.shift;
      for (let w = 0; w < this.ways; w++) {
        const row = (set * this.ways + w) * ROW_BYTES;
        if (t[row] === ROW_EMPTY || t[row + 1] !== sl || t[row + 2] !== kl || t[row + 3] !== ml) continue;
        const at = row + ROW_HEADER;
        if (sameAt(t, at, signature) && sameAt(t, at + sl, publicKey) && sameAt(t, at + sl + kl, message)) {
          this.stats.cacheHits++;
          return t[row] === ROW_TRUE;
        }
      }
    }
    const t0 = performance.now();
    const ok = inner.verify(publicKey, message, signature);
    this.stats.verifyMs += performance.now() - t0;
    this.stats.verifies++;
    if (set >= 0) {
      // The set's rows are taken in turn (the oldest answer goes). Copies: the caller may reuse its buffers.
      const t = this.table;
      const w = this.victim[set]!;
      this.victim[set] = (w + 1) % this.ways;
      const row = (set * this.ways + w) * ROW_BYTES;
      if (t[row] === ROW_EMPTY) this.used++;
      t[row] = ok ? ROW_TRUE : ROW_FALSE;
      t[row + 1] = sl;
      t[row + 2] = kl;
      t[row + 3] = ml;
      const at = row + ROW_HEADER;
      t.set(signature, at);
      t.set(publicKey, at + sl);
      t.set(message, at + sl + kl);
    }
    return ok;
  }

  /**
   * A node's crypto: signs with `inner` (the protocol's own Ed25519, for real, timed), and
   * verifies through this cache, which asks `inner` on a miss.
   */
  wrap(inner: SignVerify): SignVerify {
    return {
      sign: (message) => {
        const t0 = performance.now();
        const s = inner.sign(message);
        this.stats.signMs += performance.now() - t0;
        this.stats.signs++;
        return s;
      },
      verify: (pk, m, s) => this.verify(inner, pk, m, s),
    };
  }

  /** Forgets every answer and zeroes the counters (between runs that report their own). */
  resetStats(): void {
    this.stats.signs = 0;
    this.stats.signMs = 0;
    this.stats.verifies = 0;
    this.stats.verifyMs = 0;
    this.stats.cacheHits = 0;
  }
}

/** The process-wide cache the simulator uses (tests may make their own). */
export const PROCESS_VERIFY_CACHE = new VerifyCache();
