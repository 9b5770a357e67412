/**
 * The ledger's validity rules, as a pure state machine: `apply` takes the next entry (its
 * decoded form and its leaf hash) and either updates the balances or throws a RuleError that
 * names the rule the entry breaks. The writer runs every entry it makes through `apply` (the
 * check before the write); `ledger verify` replays the stored log through it (the check after
 * the read-back). docs/ledger.md lists the same rules in prose.
 *
 *  R1  seq is the next sequence number (no gaps, no repeats); timeMs never decreases;
 *      prevHash is the previous entry's leaf hash (genesisHash for seq 0).
 *  R2  amountUj is a safe integer, > 0 (death: ≥ 0).
 *  R3  the parties fit the kind: mint ZERO → node; burn node → ZERO; grant and reward
 *      node → a wallet; charge, rent, erasure_tax, death and query_fee a wallet → node; transfer between
 *      two distinct wallets, neither the node. Wallets other than ZERO are 32-byte keys.
 *  R4  the payer is known (has received tokens before) and can pay: no balance goes negative;
 *      no balance and no supply exceeds MAX_UJ.
 *  R5  the recorded balances after the entry are the computed ones.
 *  R6  mint: its period starts at or after the genesis time and the previous mint's end, ends
 *      after it starts and no later than the entry's time; powerCapMw ≤ maxPowerCapMw; and
 *      amountUj ≤ powerCapMw × period.
 *  R7  transfer: nonce = the sender's previous nonce + 1 (the first is 1); the signature
 *      verifies with the sender's key over transferMessage.
 *  R8  charge: amountUj = ceil(energyUj × priceUtPerJ / 10⁶).
 *
 * Invariants (checkInvariants): the sum of all balances = minted − burned = supply; no balance
 * is negative.
 */
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { assert } from '../assert.js';
import {
  chargeAmountUj, decodeEntry, DeathReason, entryLengthAt, FORMAT_VERSION, FormatError, genesisHash, HASH_BYTES, HEADER_BYTES, hex,
  KIND_NAMES, MAX_UJ, readU64, transferMessage, WALLET_BYTES, ZERO_WALLET, type Entry, type Genesis, type KindName,
} from './format.js';
import type { HeadState } from './store.js';

const REASON_BY_CODE: (string | undefined)[] = [];
for (const [name, code] of Object.entries(DeathReason)) REASON_BY_CODE[code] = name;

/** An entry breaks a validity rule. `rule` is R1 … R8 above. */
export class RuleError extends Error {
  override name = 'RuleError';
  constructor(readonly rule: string, message: string) {
    super(`${rule}: ${message}`);
  }
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A segment's assumption about the state before it does not hold: `seq` is the entry it came from. */
export class SeamError extends RuleError {
  constructor(readonly seq: number, rule: string, message: string) {
    super(rule, message);
  }
}

/** A raw 32-byte Ed25519 public key as a KeyObject. */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Verifies an Ed25519 signature by a raw public key; false (not a throw) for a malformed key or signature. */
export function verifyEd25519(raw: Buffer, message: Buffer, signature: Buffer): boolean {
  try {
    return edVerify(null, message, publicKeyFromRaw(raw), signature);
  } catch {
    return false;
  }
}

/** What the state knows of a ledger between entries: the head state each epoch stores, and every balance and nonce. */
export interface StateSnapshot extends HeadState {
  balances: [string, number][];
  nonces: [string, number][];
}

/**
 * What a segment's replay assumed about the state before its first entry (see
 * LedgerState.forSegment): each assumption names the entry it came from, so that a seam that
 * does not hold names an entry.
 */
export interface Assumptions {
  /** The first entry's prevHash, seq and time. */
  prevHash: string;
  firstSeq: number;
  firstTimeMs: number;
  /** Per wallet: its balance before the segment, and whether the entry that first met it may create it (a grant or reward payee). */
  balances: [string, { balanceUj: number; creating: boolean; seq: number }][];
  /** Per wallet: its last nonce before the segment. */
  nonces: [string, { nonce: number; seq: number }][];
  /** The first mint's period start: the mints before the segment must end by then. */
  firstMint: { periodStartMs: number; seq: number } | null;
  /** The highest the segment's own minted − burned reached, and the mint that reached it: the supply before the segment plus this must stay ≤ MAX_UJ. */
  peakSupply: { uj: number; seq: number } | null;
}

export class LedgerState {
  readonly nodeKey: Buffer;
  readonly nodeHex: string;
  readonly genesis: Genesis;
  /** Balance of every known wallet (hex key), in µJ. */
  readonly balances = new Map<string, number>();
  /** The last transfer nonce used by each wallet. */
  readonly nonces = new Map<string, number>();
  nextSeq = 0;
  /** After apply: the wallets the entry is indexed under (hex), per store.ts partiesOf. */
  lastParty = '';
  lastParty2: string | null = null;
  /**
   * The last entry's leaf hash as a latin1 string (32 chars): hashes stay strings on the hot
   * paths, since crypto.hash returns one in ~0.25 µs against ~0.7 µs for a Buffer.
   */
  lastHashL: string;
  get lastHash(): Buffer {
    return Buffer.from(this.lastHashL, 'latin1');
  }
  lastTimeMs = 0;
  mintedUj = 0;
  burnedUj = 0;
  lastMintEndMs: number;
  /** Set for a segment's replay: what it assumed about the state before its first entry. */
  private assumed: {
    balances: Map<string, { balanceUj: number; creating: boolean; seq: number }>;
    nonces: Map<string, { nonce: number; seq: number }>;
    firstMint: { periodStartMs: number; seq: number } | null;
    peakSupply: { uj: number; seq: number } | null;
    prevHash: string;
    firstTimeMs: number;
    firstSeq: number;
    started: boolean;
  } | undefined;

  /**
   * A state for replaying a segment of the log that starts at `firstSeq` without replaying
   * what comes before: each entry records both parties' balances after it, so the first entry
   * that meets a wallet says what its balance was, and the replay takes that as given and checks
   * everything after it. The assumptions (assumptions()) are checked afterwards against the
   * previous segment's final state (checkSeam), which makes the segmented replay exactly as
   * strict as one pass: `ledger verify` walks segments on several threads this way.
   */
  static forSegment(genesis: Genesis, firstSeq: number): LedgerState {
    const st = new LedgerState(genesis);
    st.balances.clear();
    st.nextSeq = firstSeq;
    st.lastMintEndMs = -Infinity;
    st.lastTimeMs = -Infinity;
    st.assumed = { balances: new Map(), nonces: new Map(), firstMint: null, peakSupply: null, prevHash: '', firstTimeMs: 0, firstSeq, started: false };
    return st;
  }

  assumptions(): Assumptions | undefined {
    const a = this.assumed;
    if (a === undefined) return undefined;
    return { prevHash: a.prevHash, firstSeq: a.firstSeq, firstTimeMs: a.firstTimeMs, balances: [...a.balances], nonces: [...a.nonces], firstMint: a.firstMint, peakSupply: a.peakSupply };
  }

  /**
   * Checks a later segment's assumptions against this state (the state at the end of the
   * previous segment), then takes on that segment's final state. Throws RuleError naming the
   * entry whose assumption does not hold.
   */
  joinSegment(next: { assumptions: Assumptions; final: StateSnapshot }): void {
    const a = next.assumptions;
    if (a.firstSeq !== this.nextSeq) throw new RuleError('R1', `seq ${a.firstSeq}, expected ${this.nextSeq}`);
    if (a.prevHash !== '' && a.prevHash !== hex(this.lastHash)) throw new RuleError('R1', 'prevHash is not the previous entry\'s hash');
    if (a.prevHash !== '' && a.firstTimeMs < this.lastTimeMs) throw new RuleError('R1', `time ${a.firstTimeMs} is before the previous entry's ${this.lastTimeMs}`);
    // Every assumption is checked, and the one from the earliest entry is reported.
    let first: SeamError | undefined;
    const fail = (e: SeamError) => {
      if (first === undefined || e.seq < first.seq) first = e;
    };
    for (const [w, x] of a.balances) {
      const have = this.balances.get(w);
      if (have === undefined ? !(x.creating && x.balanceUj === 0) : have !== x.balanceUj) {
        fail(new SeamError(x.seq, have === undefined ? 'R4' : 'R5',
          have === undefined ? `the wallet ${w} is not a known wallet` : `recorded balances imply ${w} had ${x.balanceUj} µJ before it; it had ${have}`));
      }
    }
    for (const [w, x] of a.nonces) {
      const n = this.nonces.get(w) ?? 0;
      if (n !== x.nonce) fail(new SeamError(x.seq, 'R7', `nonce ${x.nonce + 1}, expected ${n + 1}`));
    }
    if (a.firstMint !== null && a.firstMint.periodStartMs < this.lastMintEndMs) {
      fail(new SeamError(a.firstMint.seq, 'R6', `the mint period starts at ${a.firstMint.periodStartMs}, before ${this.lastMintEndMs}`));
    }
    if (a.peakSupply !== null && this.supplyUj + a.peakSupply.uj > MAX_UJ) {
      fail(new SeamError(a.peakSupply.seq, 'R4', `the supply would exceed ${MAX_UJ} µJ`));
    }
    if (first !== undefined) throw first;
    const f = next.final;
    for (const [w, b] of f.balances) this.balances.set(w, b);
    for (const [w, n] of f.nonces) this.nonces.set(w, n);
    this.nextSeq = f.nextSeq;
    if (f.nextSeq > a.firstSeq) {
      this.lastHashL = Buffer.from(f.lastHash, 'hex').toString('latin1');
      this.lastTimeMs = f.lastTimeMs;
    }
    this.mintedUj += f.mintedUj;
    this.burnedUj += f.burnedUj;
    assert(Number.isSafeInteger(this.mintedUj) && Number.isSafeInteger(this.burnedUj), 'the joined supply is exact (the peak check bounds it)');
    if (Number.isFinite(f.lastMintEndMs)) this.lastMintEndMs = f.lastMintEndMs;
  }

  constructor(genesis: Genesis) {
    assert(genesis.nodeKey.length === WALLET_BYTES, 'a node key is 32 bytes');
    this.genesis = genesis;
    this.nodeKey = genesis.nodeKey;
    this.nodeHex = hex(genesis.nodeKey);
    this.lastHashL = genesisHash(genesis).toString('latin1');
    this.lastMintEndMs = genesis.genesisTimeMs;
    this.lastTimeMs = genesis.genesisTimeMs;
    this.balances.set(this.nodeHex, 0);
  }

  get supplyUj(): number {
    return this.mintedUj - this.burnedUj;
  }

  balanceOf(wallet: Buffer | string): number | undefined {
    return this.balances.get(typeof wallet === 'string' ? wallet : hex(wallet));
  }

  /** Checks entry `e` (whose leaf hash is `leaf`) against R1–R8 and applies it; throws RuleError and changes nothing if it breaks one. */
  apply(e: Entry, leaf: Buffer | string): void {
    if (typeof leaf !== 'string') leaf = leaf.toString('latin1');
    this.checkMove(e.kind, e.seq, e.timeMs, e.prevHash, 0, e.from, 0, e.to, 0, e.amountUj, e.fromBalanceUj, e.toBalanceUj);
    const a = this.assumed;
    const amount = e.amountUj;
    const m = this.move;
    // R6 – R8
    let assumeNonce = false;
    if (e.kind === 'mint') {
      const periodMs = e.periodEndMs - e.periodStartMs;
      if (e.periodStartMs < this.lastMintEndMs) throw new RuleError('R6', `the mint period starts at ${e.periodStartMs}, before ${this.lastMintEndMs}`);
      if (!(periodMs > 0) || e.periodEndMs > e.timeMs) throw new RuleError('R6', `the mint period [${e.periodStartMs}, ${e.periodEndMs}) is empty or ends after the entry's time`);
      if (e.powerCapMw > this.genesis.maxPowerCapMw) throw new RuleError('R6', `power cap ${e.powerCapMw} mW is above the ledger's ${this.genesis.maxPowerCapMw} mW`);
      if (amount > e.powerCapMw * periodMs) throw new RuleError('R6', `${amount} µJ minted for ${periodMs} ms at ${e.powerCapMw} mW (at most ${e.powerCapMw * periodMs})`);
      if (a !== undefined && a.firstMint === null) a.firstMint = { periodStartMs: e.periodStartMs, seq: e.seq };
    } else if (e.kind === 'transfer') {
      let last = this.nonces.get(m.fromHex);
      if (last === undefined && a !== undefined && !a.nonces.has(m.fromHex)) {
        last = e.nonce - 1;
        assumeNonce = true;
      }
      const expected = (last ?? 0) + 1;
      if (e.nonce !== expected) throw new RuleError('R7', `nonce ${e.nonce}, expected ${expected}`);
      if (!verifyEd25519(e.from, transferMessage(this.nodeKey, e.from, e.to, amount, e.nonce), e.signature)) {
        throw new RuleError('R7', 'the transfer\'s signature does not verify with the sender\'s key');
      }
      // Nothing below can fail: record what a segment assumed.
      if (assumeNonce) a!.nonces.set(m.fromHex, { nonce: e.nonce - 1, seq: e.seq });
    } else if (e.kind === 'charge') {
      this.checkCharge(amount, e.energyUj, e.priceUtPerJ);
    }
    // Apply: nothing above changed the state (but the record of what a segment assumed).
    if (e.kind === 'mint') {
      this.mintedUj += amount;
      this.lastMintEndMs = e.periodEndMs;
      // A segment cannot check the supply bound (it knows only its own mints): it records its
      // peak, which joinSegment checks against the supply before it.
      if (a !== undefined && (a.peakSupply === null || this.supplyUj > a.peakSupply.uj)) a.peakSupply = { uj: this.supplyUj, seq: e.seq };
    } else if (e.kind === 'burn') {
      this.burnedUj += amount;
    } else if (e.kind === 'transfer') {
      this.nonces.set(m.fromHex, e.nonce);
    }
    this.commitMove(e.kind, e.seq, e.timeMs, leaf);
  }

  /**
   * apply() for an entry given as `len` bytes at `at` in `blob`: the verifier's path, which
   * makes no entry object and no Buffer views, and runs the same checks (checkMove, checkCharge)
   * as apply(). Mints and transfers, which have more rules, go through decodeEntry and apply().
   * Throws FormatError for bytes that do not decode, RuleError for a broken rule. Returns the kind.
   */
  applyAt(blob: Buffer, at: number, len: number, leaf: string): KindName {
    const kind = KIND_NAMES[blob[at + 1]!];
    if (kind === undefined || kind === 'mint' || kind === 'transfer' || blob[at] !== FORMAT_VERSION || len !== entryLengthAt(blob, at)) {
      const e = decodeEntry(blob.subarray(at, at + len));
      this.apply(e, leaf);
      return e.kind;
    }
    const o = at + HEADER_BYTES;
    // The format's own checks, as decodeEntry makes them (readU64 refuses values ≥ 2^53).
    if (kind === 'charge' && blob[o + 28]! > 1) throw new FormatError(`unknown energy basis ${blob[o + 28]}`);
    if (kind === 'death' && REASON_BY_CODE[blob[o + 4]!] === undefined) throw new FormatError(`unknown death reason ${blob[o + 4]}`);
    // Every u64 of the body, read or not by the rules, must hold a safe integer, as decodeEntry demands.
    if (kind === 'charge') readU64(blob, o + 4);
    else if (kind === 'rent') readU64(blob, o + 8);
    else if (kind === 'erasure_tax' || kind === 'reward' || kind === 'query_fee') readU64(blob, o + 4);
    const seq = readU64(blob, at + 2);
    const timeMs = readU64(blob, at + 10);
    const amount = readU64(blob, at + 114);
    this.checkMove(kind, seq, timeMs, blob, at + 18, blob, at + 50, blob, at + 82, amount, readU64(blob, at + 122), readU64(blob, at + 130));
    if (kind === 'charge') this.checkCharge(amount, readU64(blob, o + 12), readU64(blob, o + 20));
    else if (kind === 'burn') this.burnedUj += amount;
    this.commitMove(kind, seq, timeMs, leaf);
    return kind;
  }

  /** What checkMove worked out, for commitMove (fields, not an object per entry). */
  private readonly move = {
    fromHex: '', toHex: '', fromZero: false, toZero: false, fromNode: false, toNode: false,
    fromAfter: 0, toAfter: 0, assumeFrom: -1, assumeTo: -1,
  };

  /** R8: a charge is ceil(energy × price / 10⁶). */
  private checkCharge(amount: number, energyUj: number, priceUtPerJ: number): void {
    const due = chargeAmountUj(energyUj, priceUtPerJ);
    if (amount !== due) throw new RuleError('R8', `charged ${amount} µJ for ${energyUj} µJ at ${priceUtPerJ} µtokens/J (due ${due})`);
  }

  /**
   * R1–R5 for an entry, with its hash and wallets given as 32 bytes at an offset of a buffer
   * (the entry's own Buffers for apply(), the epoch's blob for applyAt()). Changes no state but
   * `this.move` (and, for a segment, the record of its first entry).
   */
  private checkMove(kind: KindName, seq: number, timeMs: number, prev: Buffer, prevAt: number, from: Buffer, fromAt: number, to: Buffer, toAt: number,
    amount: number, fromBalanceUj: number, toBalanceUj: number): void {
    // R1
    if (seq !== this.nextSeq) throw new RuleError('R1', `seq ${seq}, expected ${this.nextSeq}`);
    const a = this.assumed;
    if (a !== undefined && !a.started) {
      a.started = true;
      a.prevHash = prev.toString('hex', prevAt, prevAt + HASH_BYTES);
      a.firstTimeMs = timeMs;
      this.lastHashL = prev.toString('latin1', prevAt, prevAt + HASH_BYTES);
    }
    if (timeMs < this.lastTimeMs) throw new RuleError('R1', `time ${timeMs} is before the previous entry's ${this.lastTimeMs}`);
    if (prev.toString('latin1', prevAt, prevAt + HASH_BYTES) !== this.lastHashL) throw new RuleError('R1', 'prevHash is not the previous entry\'s hash');
    // R2
    if (!Number.isSafeInteger(amount) || amount < 0 || (amount === 0 && kind !== 'death')) throw new RuleError('R2', `amount ${amount} µJ`);
    // R3. Most entries are charges to the node: compare with it before paying for a hex string.
    const m = this.move;
    const fromNode = (m.fromNode = sameAt(from, fromAt, this.nodeKey));
    const toNode = (m.toNode = !fromNode && sameAt(to, toAt, this.nodeKey));
    const fromZero = (m.fromZero = !fromNode && sameAt(from, fromAt, ZERO_WALLET));
    const toZero = (m.toZero = !toNode && sameAt(to, toAt, ZERO_WALLET));
    const fromHex = (m.fromHex = fromNode ? this.nodeHex : from.toString('hex', fromAt, fromAt + WALLET_BYTES));
    const toHex = (m.toHex = toNode ? this.nodeHex : to.toString('hex', toAt, toAt + WALLET_BYTES));
    const parties = partiesProblem(kind, fromNode, toNode, fromZero, toZero, fromHex !== toHex);
    if (parties !== null) throw new RuleError('R3', parties);
    // R4, R5
    m.fromAfter = 0;
    m.toAfter = 0;
    m.assumeFrom = -1;
    m.assumeTo = -1;
    if (!fromZero) {
      let have = this.balances.get(fromHex);
      if (have === undefined && a !== undefined) have = m.assumeFrom = fromBalanceUj + amount;
      if (have === undefined) throw new RuleError('R4', `the payer ${fromHex} is not a known wallet`);
      if (have < amount) throw new RuleError('R4', `the payer ${fromHex} has ${have} µJ, the entry takes ${amount}`);
      m.fromAfter = have - amount;
    }
    if (!toZero) {
      let have = this.balances.get(toHex);
      if (have === undefined && a !== undefined) {
        have = m.assumeTo = toBalanceUj - amount;
        if (have < 0) throw new RuleError('R5', `recorded balance ${toBalanceUj} µJ of the payee after receiving ${amount}`);
      }
      if (have === undefined && kind !== 'grant' && kind !== 'reward') throw new RuleError('R4', `the payee ${toHex} is not a known wallet`);
      m.toAfter = (have ?? 0) + amount;
      if (m.toAfter > MAX_UJ) throw new RuleError('R4', `the payee's balance would exceed ${MAX_UJ} µJ`);
    }
    if (kind === 'mint' && a === undefined && this.supplyUj + amount > MAX_UJ) throw new RuleError('R4', `the supply would exceed ${MAX_UJ} µJ`);
    if (fromBalanceUj !== m.fromAfter || toBalanceUj !== m.toAfter) {
      throw new RuleError('R5', `recorded balances ${fromBalanceUj}/${toBalanceUj}, computed ${m.fromAfter}/${m.toAfter}`);
    }
  }

  /** Applies what checkMove worked out: balances, the segment's assumptions, the index parties, the chain. */
  private commitMove(kind: KindName, seq: number, timeMs: number, leaf: string): void {
    const m = this.move;
    const a = this.assumed;
    if (m.assumeFrom >= 0) a!.balances.set(m.fromHex, { balanceUj: m.assumeFrom, creating: false, seq });
    if (m.assumeTo >= 0) a!.balances.set(m.toHex, { balanceUj: m.assumeTo, creating: kind === 'grant' || kind === 'reward', seq });
    if (!m.fromZero) this.balances.set(m.fromHex, m.fromAfter);
    if (!m.toZero) this.balances.set(m.toHex, m.toAfter);
    // The wallets the entry is indexed under (store.ts partiesOf), as hex, for the writer's and
    // the verifier's wallet index: computed here, where the hex strings already exist.
    const fromOther = !m.fromNode && !m.fromZero;
    const toOther = !m.toNode && !m.toZero;
    this.lastParty = fromOther ? m.fromHex : toOther ? m.toHex : this.nodeHex;
    this.lastParty2 = fromOther && toOther ? m.toHex : null;
    this.nextSeq++;
    this.lastHashL = leaf;
    this.lastTimeMs = timeMs;
  }

  /** The invariants; a failure is a bug (or a corrupt store), reported by the caller. Returns a message, or null. */
  checkInvariants(): string | null {
    let sum = 0;
    for (const [w, b] of this.balances) {
      if (!Number.isSafeInteger(b) || b < 0) return `wallet ${w} has balance ${b}`;
      sum += b;
    }
    if (sum !== this.supplyUj) return `the balances sum to ${sum} µJ but the supply is ${this.supplyUj} (minted ${this.mintedUj} − burned ${this.burnedUj})`;
    return null;
  }

  snapshot(): StateSnapshot {
    return {
      nextSeq: this.nextSeq,
      lastHash: hex(this.lastHash),
      lastTimeMs: this.lastTimeMs,
      mintedUj: this.mintedUj,
      burnedUj: this.burnedUj,
      lastMintEndMs: this.lastMintEndMs,
      balances: [...this.balances],
      nonces: [...this.nonces],
    };
  }

  static restore(genesis: Genesis, s: StateSnapshot): LedgerState {
    const st = new LedgerState(genesis);
    st.nextSeq = s.nextSeq;
    st.lastHashL = Buffer.from(s.lastHash, 'hex').toString('latin1');
    st.lastTimeMs = s.lastTimeMs;
    st.mintedUj = s.mintedUj;
    st.burnedUj = s.burnedUj;
    st.lastMintEndMs = s.lastMintEndMs;
    st.balances.clear();
    for (const [w, b] of s.balances) st.balances.set(w, b);
    for (const [w, n] of s.nonces) st.nonces.set(w, n);
    return st;
  }
}

/**
 * Buffer equality with a cheap first look: Buffer.equals is a call into C++ (~50–100 ns), and
 * most comparisons here (a wallet against the node's key) differ in their first byte.
 */
export function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a[0] === b[0] && a[a.length - 1] === b[b.length - 1] && a.equals(b);
}

/** same() for the 32 bytes at `at` in `buf` against a 32-byte `key`, without a view. */
function sameAt(buf: Buffer, at: number, key: Buffer): boolean {
  return buf[at] === key[0] && buf[at + 31] === key[31] && buf.compare(key, 0, 32, at, at + 32) === 0;
}

/** R3: the parties an entry of `kind` must have, or what is wrong with them. */
export function partiesProblem(kind: KindName, fromNode: boolean, toNode: boolean, fromZero: boolean, toZero: boolean, distinct: boolean): string | null {
  switch (kind) {
    case 'mint': return !fromZero || !toNode ? 'a mint goes from ZERO to the node' : null;
    case 'burn': return !fromNode || !toZero ? 'a burn goes from the node to ZERO' : null;
    case 'grant': case 'reward': return !fromNode || toNode || toZero ? `a ${kind} goes from the node to another wallet` : null;
    case 'charge': case 'rent': case 'erasure_tax': case 'death': case 'query_fee':
      return fromNode || fromZero || !toNode ? `a ${kind} goes from a wallet to the node` : null;
    case 'transfer': return fromNode || toNode || fromZero || toZero || !distinct ? 'a transfer goes between two distinct wallets, neither the node' : null;
  }
}

/**
 * The rules one entry must meet on its own, without the state before it (R2, R3, R6's shape of
 * a mint, R7's signature, R8): what a payer holding only the node's key can check of each line
 * of its bill (receipt.ts). Returns the broken rule's message, or null.
 */
export function checkEntryAlone(e: Entry, nodeKey: Buffer): string | null {
  const amount = e.amountUj;
  if (!Number.isSafeInteger(amount) || amount < 0 || (amount === 0 && e.kind !== 'death')) return `R2: amount ${amount} µJ`;
  const fromNode = same(e.from, nodeKey);
  const toNode = same(e.to, nodeKey);
  const parties = partiesProblem(e.kind, fromNode, toNode, same(e.from, ZERO_WALLET), same(e.to, ZERO_WALLET), !same(e.from, e.to));
  if (parties !== null) return `R3: ${parties}`;
  switch (e.kind) {
    case 'mint': {
      const periodMs = e.periodEndMs - e.periodStartMs;
      if (!(periodMs > 0) || e.periodEndMs > e.timeMs || amount > e.powerCapMw * periodMs) return `R6: ${amount} µJ minted for [${e.periodStartMs}, ${e.periodEndMs}) at ${e.powerCapMw} mW`;
      return null;
    }
    case 'transfer':
      return verifyEd25519(e.from, transferMessage(nodeKey, e.from, e.to, amount, e.nonce), e.signature) ? null : 'R7: the transfer\'s signature does not verify with the sender\'s key';
    case 'charge': {
      const due = chargeAmountUj(e.energyUj, e.priceUtPerJ);
      return amount === due ? null : `R8: charged ${amount} µJ for ${e.energyUj} µJ at ${e.priceUtPerJ} µtokens/J (due ${due})`;
    }
    default: return null;
  }
}
