/**
 * A heat claim: what one cluster member says about its own heat, signed with its own key.
 *
 * THE CLAIM FORMAT (version 1). Fixed size, CLAIM_BYTES = 108, integers big-endian:
 *
 *   off len  field       rule
 *     0   1  format      = 1
 *     1   2  member      the issuer's index in the cluster's member list (ids sorted by UTF-16
 *                        code unit); < the number of members, else the claim is `unknown_member`
 *     3   1  flags       bit 0 alarm ("I am dying"); bit 1 no reading (bytes 28..41 are zero, and
 *                        heat is 0 unless the alarm is set);
 *                        the other bits are 0
 *     4   8  version     u64, 1 ≤ version ≤ 2^53 − 1; strictly increasing per issuer
 *    12   8  issuedMs    u64 ≤ 2^53 − 1, the issuer's clock (Unix ms in a live node)
 *    20   8  expiresMs   u64, issuedMs < expiresMs ≤ issuedMs + MAX_CLAIM_TTL_MS
 *    28   2  tempC       i16, hundredths of a degree Celsius (−327.68 … 327.67)
 *    30   4  powerW      u32, milliwatts
 *    34   4  headroomW   u32, milliwatts
 *    38   4  price       f32, tokens per joule, finite, 0 ≤ price ≤ MAX_PRICE
 *    42   2  heat        u16 ≤ 10,000: the issuer's own heat in 1/10,000 (0 cool … 1 dying), after
 *                        its hysteresis; 10,000 when the alarm is set
 *    44  64  signature   Ed25519 by the member's key over
 *                        CLAIM_DOMAIN ‖ clusterTag (u32) ‖ bytes 0..43
 *
 * The domain tag keeps a heat signature from ever being mistaken for any other signature made
 * with the same key (a ledger epoch, a bill); the cluster tag (a hash of the member list, see
 * clusterTagOf) binds the member index to one list, so an index cannot be read against another.
 *
 * A receiver holds, per member, the newest claim it has accepted. It accepts a claim only if the
 * format is valid, the issuer is a member, the version is above the one it holds (else
 * `duplicate`, or `replayed` if older), it has not expired (`stale`), it was not issued more than
 * maxClockSkewMs in the receiver's future (`future`), the signature verifies (`forged`), and the
 * issuer is within its rate (`rate_limited`). These checks are ordered cheapest first, and the
 * signature, the only expensive one (~100 µs), is checked once per (member, version): a claim
 * whose version is not above the held one is refused before it.
 */
import { createHash, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { assert } from '../assert.js';
import { publicKeyFromRaw } from '../ledger/state.js';

export const CLAIM_FORMAT = 1;
export const CLAIM_BYTES = 108;
export const CLAIM_BODY_BYTES = 44;
export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
/** The most members a cluster may have: a member index is a u16, and 0xFFFF means "none". */
export const MAX_MEMBERS = 0xfffe;
export const NO_MEMBER = 0xffff;
/** A claim may live at most a day: a key compromise or a wrong clock cannot plant a claim for longer. */
export const MAX_CLAIM_TTL_MS = 24 * 3600 * 1000;
export const MAX_SAFE_MS = Number.MAX_SAFE_INTEGER;
export const MAX_PRICE = 4.9e11;
export const MAX_POWER_W = 0xffffffff / 1000;
export const TEMP_MIN_C = -327.68;
export const TEMP_MAX_C = 327.67;
export const HEAT_SCALE = 10_000;

export const FLAG_ALARM = 1;
export const FLAG_NO_READING = 2;
const FLAGS_KNOWN = FLAG_ALARM | FLAG_NO_READING;

/** Signed before every claim body: "maxwell/heat/claim/1". */
export const CLAIM_DOMAIN = new TextEncoder().encode('maxwell/heat/claim/1');

/**
 * Signs and verifies claims. Injectable so that a simulator can pass a memoising verifier (never
 * one that accepts anything). The arrays handed to verify are views valid only during the call:
 * a verifier that keeps anything (a cache) copies it.
 */
export interface HeatCrypto {
  sign(message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Public KeyObjects by raw key, shared by every ed25519Crypto of the process (a KeyObject is
 * immutable): building one costs more than a verify's setup, and in a simulated cluster a
 * thousand nodes verify with the same thousand keys. Bounded: cleared when full.
 */
const PUBLIC_KEYS = new Map<string, KeyObject>();
const PUBLIC_KEYS_MAX = 4 * MAX_MEMBERS;

/** Real Ed25519 with node:crypto; public KeyObjects come from PUBLIC_KEYS. */
export function ed25519Crypto(privateKey: KeyObject): HeatCrypto {
  assert(privateKey.asymmetricKeyType === 'ed25519', 'the heat key is an Ed25519 key');
  const keys = PUBLIC_KEYS;
  return {
    sign: (message) => new Uint8Array(edSign(null, message, privateKey)),
    verify(publicKey, message, signature) {
      if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
      const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1');
      let key = keys.get(id);
      if (key === undefined) {
        try {
          key = publicKeyFromRaw(Buffer.from(publicKey));
        } catch {
          return false;
        }
        if (keys.size >= PUBLIC_KEYS_MAX) keys.clear();
        keys.set(id, key);
      }
      try {
        return edVerify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** What a node reads of its own heat and offers to the cluster. */
export interface HeatReading {
  tempC: number;
  powerW: number;
  headroomW: number;
  /** The node's price, tokens per joule. */
  price: number;
}

/** A claim's fields, decoded. */
export interface ClaimFields {
  member: number;
  flags: number;
  version: number;
  issuedMs: number;
  expiresMs: number;
  tempC: number;
  powerW: number;
  headroomW: number;
  price: number;
  heat: number;
}

export function emptyClaimFields(): ClaimFields {
  return { member: 0, flags: 0, version: 0, issuedMs: 0, expiresMs: 0, tempC: 0, powerW: 0, headroomW: 0, price: 0, heat: 0 };
}

/** The format checks a claim can fail before anything is looked up. */
export const ClaimFormat = {
  OK: 0,
  BAD_FORMAT: 1,
  BAD_FLAGS: 2,
  BAD_VERSION: 3,
  BAD_TIME: 4,
  BAD_PRICE: 5,
  BAD_HEAT: 6,
} as const;
export type ClaimFormat = (typeof ClaimFormat)[keyof typeof ClaimFormat];

/** A u64 that must be a safe integer: NaN when it is not (the high word past 2^21 − 1). */
export function readU53(v: DataView, off: number): number {
  const hi = v.getUint32(off);
  if (hi > 0x1fffff) return Number.NaN;
  return hi * 0x1_0000_0000 + v.getUint32(off + 4);
}

export function writeU53(v: DataView, off: number, x: number): void {
  assert(Number.isSafeInteger(x) && x >= 0, 'a u64 field holds a safe non-negative integer');
  v.setUint32(off, Math.floor(x / 0x1_0000_0000));
  v.setUint32(off + 4, x >>> 0);
}

/**
 * Decodes the claim at `off` into `out` and checks its format (not its member, freshness or
 * signature: the caller knows those). Reads 108 bytes; the caller checked that they are there.
 */
export function readClaim(v: DataView, off: number, out: ClaimFields): ClaimFormat {
  if (v.getUint8(off) !== CLAIM_FORMAT) return ClaimFormat.BAD_FORMAT;
  out.member = v.getUint16(off + 1);
  const flags = v.getUint8(off + 3);
  if ((flags & ~FLAGS_KNOWN) !== 0) return ClaimFormat.BAD_FLAGS;
  out.flags = flags;
  const version = readU53(v, off + 4);
  if (!(version >= 1)) return ClaimFormat.BAD_VERSION;
  out.version = version;
  const issued = readU53(v, off + 12);
  const expires = readU53(v, off + 20);
  if (!(expires > issued) || expires - issued > MAX_CLAIM_TTL_MS) return ClaimFormat.BAD_TIME;
  out.issuedMs = issued;
  out.expiresMs = expires;
  out.tempC = v.getInt16(off + 28) / 100;
  out.powerW = v.getUint32(off + 30) / 1000;
  out.headroomW = v.getUint32(off + 34) / 1000;
  const price = v.getFloat32(off + 38);
  if (!(price >= 0 && price <= MAX_PRICE)) return ClaimFormat.BAD_PRICE;
  out.price = price;
  const heat = v.getUint16(off + 42);
  if (heat > HEAT_SCALE) return ClaimFormat.BAD_HEAT;
  if ((flags & FLAG_ALARM) !== 0 && heat !== HEAT_SCALE) return ClaimFormat.BAD_HEAT;
  if ((flags & FLAG_NO_READING) !== 0) {
    if (v.getUint32(off + 28) !== 0 || v.getUint32(off + 32) !== 0 || v.getUint32(off + 36) !== 0 || v.getUint16(off + 40) !== 0) return ClaimFormat.BAD_FORMAT;
    if ((flags & FLAG_ALARM) === 0 && heat !== 0) return ClaimFormat.BAD_HEAT;
  }
  out.heat = heat / HEAT_SCALE;
  return ClaimFormat.OK;
}

/** The bytes a claim's signature covers: domain ‖ cluster tag ‖ body. A fresh array (for signing). */
export function signedBytes(claim: Uint8Array, off: number, clusterTag: number): Uint8Array {
  const v = new ClaimVerifier(clusterTag);
  return v.message(claim, off).slice();
}

/**
 * Checks claim signatures with one scratch buffer for the signed bytes, already holding the
 * domain and the cluster tag: a check copies 44 bytes into it (the verifier is
 * handed views that are valid only during the call; a memoising one copies what it keeps).
 */
export class ClaimVerifier {
  private readonly scratch: Uint8Array;
  private readonly at: number;

  constructor(clusterTag: number) {
    const d = CLAIM_DOMAIN.length;
    this.scratch = new Uint8Array(d + 4 + CLAIM_BODY_BYTES);
    this.scratch.set(CLAIM_DOMAIN, 0);
    new DataView(this.scratch.buffer).setUint32(d, clusterTag);
    this.at = d + 4;
  }

  message(claim: Uint8Array, off: number): Uint8Array {
    this.scratch.set(claim.subarray(off, off + CLAIM_BODY_BYTES), this.at);
    return this.scratch;
  }

  verify(claim: Uint8Array, off: number, publicKey: Uint8Array, crypto: HeatCrypto): boolean {
    return crypto.verify(publicKey, this.message(claim, off), claim.subarray(off + CLAIM_BODY_BYTES, off + CLAIM_BYTES));
  }
}

/** Encodes and signs a claim. Fields are clamped to what the format holds (a reading is checked by the caller). */
export function encodeClaim(f: ClaimFields, clusterTag: number, crypto: HeatCrypto): Uint8Array {
  assert(f.version >= 1 && Number.isSafeInteger(f.version), 'a claim version is a safe integer ≥ 1');
  assert(f.expiresMs > f.issuedMs && f.expiresMs - f.issuedMs <= MAX_CLAIM_TTL_MS, 'a claim expires after it is issued, within a day');
  const b = new Uint8Array(CLAIM_BYTES);
  const v = new DataView(b.buffer);
  v.setUint8(0, CLAIM_FORMAT);
  v.setUint16(1, f.member);
  v.setUint8(3, f.flags);
  writeU53(v, 4, f.version);
  writeU53(v, 12, f.issuedMs);
  writeU53(v, 20, f.expiresMs);
  const alarm = (f.flags & FLAG_ALARM) !== 0;
  if ((f.flags & FLAG_NO_READING) === 0) {
    v.setInt16(28, Math.round(clamp(f.tempC, TEMP_MIN_C, TEMP_MAX_C) * 100));
    v.setUint32(30, Math.round(clamp(f.powerW, 0, MAX_POWER_W) * 1000));
    v.setUint32(34, Math.round(clamp(f.headroomW, 0, MAX_POWER_W) * 1000));
    v.setFloat32(38, clamp(f.price, 0, MAX_PRICE));
  }
  v.setUint16(42, alarm ? HEAT_SCALE : Math.round(clamp(f.heat, 0, 1) * HEAT_SCALE));
  const sig = crypto.sign(signedBytes(b, 0, clusterTag));
  assert(sig.length === SIGNATURE_BYTES, 'an Ed25519 signature is 64 bytes');
  b.set(sig, CLAIM_BODY_BYTES);
  return b;
}

export function verifyClaim(claim: Uint8Array, off: number, clusterTag: number, publicKey: Uint8Array, crypto: HeatCrypto): boolean {
  return new ClaimVerifier(clusterTag).verify(claim, off, publicKey, crypto);
}

/** Copies a claim's 108 bytes (a view and a memcpy: ~3× faster than a byte loop in V8). */
export function copyClaim(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  dst.set(src.subarray(from, from + CLAIM_BYTES), to);
}

/**
 * The cluster tag: the first 4 bytes (u32) of SHA-256 over the member list in index order, each
 * member as (u16 length of its UTF-8 id, the id, its 32-byte key). Every message and every
 * signature carries it, so two nodes with different member lists refuse each other's messages
 * (`wrong_cluster`) instead of reading an index against the wrong list.
 */
export function clusterTagOf(ids: readonly string[], keys: readonly Uint8Array[]): number {
  const h = createHash('sha256');
  h.update('maxwell/heat/members/1');
  const len = Buffer.alloc(2);
  for (let i = 0; i < ids.length; i++) {
    const id = Buffer.from(ids[i]!, 'utf8');
    len.writeUInt16BE(id.length);
    h.update(len);
    h.update(id);
    h.update(keys[i]!);
  }
  return h.digest().readUInt32BE(0);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
