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
 * A limit on everything: the cache holds at most `maxEntries` answers in two generations;
 * when the young one fills, the old one is dropped (the most recently used answers survive),
 * so memory stays bounded whatever the run's length.
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

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

interface Answer {
  publicKey: Uint8Array;
  message: Uint8Array;
  ok: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class VerifyCache {
  readonly maxEntries: number;
  private young = new Map<string, Answer>();
  private old = new Map<string, Answer>();
  readonly stats: CryptoStats = { signs: 0, signMs: 0, verifies: 0, verifyMs: 0, cacheHits: 0 };

  constructor(maxEntries = 400_000) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * The answer for these bytes: from the cache, or from `inner` (and then remembered). Answers
   * are found by their signature and used only if the public key and the message are the same
   * bytes too; a signature seen with other bytes (a forgery reusing it) is verified for real.
   */
  verify(inner: SignVerify, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const key = latin1(signature);
    let hit = this.young.get(key);
    if (hit === undefined) {
      hit = this.old.get(key);
      if (hit !== undefined) this.remember(key, hit);
    }
    if (hit !== undefined && sameBytes(hit.publicKey, publicKey) && sameBytes(hit.message, message)) {
      this.stats.cacheHits++;
      return hit.ok;
    }
    const t0 = performance.now();
    const ok = inner.verify(publicKey, message, signature);
    this.stats.verifyMs += performance.now() - t0;
    this.stats.verifies++;
    // Copies: the caller may reuse its buffers.
    this.remember(key, { publicKey: Uint8Array.from(publicKey), message: Uint8Array.from(message), ok });
    return ok;
  }

  private remember(key: string, answer: Answer): void {
    if (this.young.size >= this.maxEntries / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, answer);
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
