// A dishonest node: it holds the node's private key, so every entry it writes is hashed into the
// Merkle tree, indexed and signed exactly as the honest writer does it (Ledger.seal), and only the
// validity rules can catch it. tamper.spec.ts changes stored bytes without the key; here the
// "forger" below writes whole epochs through SqliteStore.commit with whatever entries and recorded
// balances it chooses.
//
// Each ledger starts with an honest prefix written by the real Ledger (epochs 0–2, entries 0–29),
// which the forger resumes from the store (head state, balances, Merkle frontier). It continues
// with a big honest epoch 3 (entries 30–59, where some cases put the state they later contradict),
// then epochs 4 (60–69) and 5 (70–79), where the rule-breaking entry sits. With that layout the
// segmented verifier (verifyLedgerParallel) cuts at entry 60 for 2, 3 and 4 threads alike:
//   2 threads: [0,60) [60,80)   3: [0,30) [30,60) [60,80)   4: [0,20) [20,60) [60,70) [70,80)
// so the bad entry is always in a later segment than what it contradicts, and is found by a
// segment's assumptions failing at the seam (LedgerState.joinSegment) rather than by a replay
// that has the state. Each case that contradicts an earlier entry checks that placement with
// planSegments; every case checks that the one-pass verifier and the segmented one on 2, 3 and
// 4 threads fail naming the same entry.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeEntry, epochMessage, genesisHash, hex, leafHash, MAX_UJ, transferMessage, ZERO_WALLET,
  type BasisName, type DeathReasonName, type Entry, type Genesis,
} from '../../src/ledger/format.js';
import { generateKey, signWith, type KeyPair } from '../../src/ledger/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { MerkleFrontier } from '../../src/ledger/merkle.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { NODE_MIN_SIZE, packWalletIndex, partiesOf, type EpochBatch } from '../../src/ledger/store.js';
import { planSegments, verifyLedger, verifyLedgerParallel, type VerifyReport } from '../../src/ledger/verify.js';

const T0 = 1_760_000_000_000;
const NODE = generateKey();
/** A funded wallet that makes one transfer (nonce 1) to B in the prefix, then nothing until a case touches it. */
const A = generateKey();
const B = generateKey();
/** Granted 1,000 µJ in the prefix, then untouched. */
const C = generateKey();
const E = generateKey();
/** The filler: pays a 1,000 µJ charge for every entry the layout needs. */
const FILL = generateKey();
/** Never paid by any ledger here but the honest one, which creates them. */
const NEVER = generateKey();
const STRANGER = generateKey();

type Body =
  | { kind: 'mint'; periodStartMs: number; periodEndMs: number; powerCapMw: number }
  | { kind: 'grant' }
  | { kind: 'burn' }
  | { kind: 'transfer'; nonce: number; signature: Buffer }
  | { kind: 'charge'; pid: number; fuel: number; energyUj: number; priceUtPerJ: number; basis: BasisName }
  | { kind: 'rent'; pid: number; periodMs: number; memoryBytes: number }
  | { kind: 'erasure_tax'; pid: number; bytes: number }
  | { kind: 'reward'; pid: number; milliBits: number }
  | { kind: 'death'; pid: number; reason: DeathReasonName };

interface Move {
  from: Buffer;
  to: Buffer;
  amountUj: number;
  /** Defaults: the previous entry's time + 1, and the balances the forger's own books give. */
  timeMs?: number;
  fromBalanceUj?: number;
  toBalanceUj?: number;
}

/**
 * Writes entries and epochs the way Ledger.append and Ledger.seal do (encodeEntry, the seq and
 * prevHash chain, leaf hashes, the Merkle frontier and its NODE_MIN_SIZE+ nodes, the packed
 * wallet index, the epoch head signed with the node key, the head state and the changed
 * balances), but checks no rule: its books are whatever the entries it wrote record, so a lie
 * it tells once is carried on consistently, as a dishonest node would.
 */
class Forger {
  readonly genesis: Genesis;
  readonly nodeHex: string;
  private readonly frontier: MerkleFrontier;
  nextSeq: number;
  private lastHash: Buffer;
  lastTimeMs: number;
  mintedUj: number;
  burnedUj: number;
  lastMintEndMs: number;
  private nextEpoch: number;
  private lastEpochTimeMs: number;
  readonly balances = new Map<string, number>();
  readonly nonces = new Map<string, number>();
  private pending: Buffer[] = [];
  private pendingHashes: Buffer[] = [];
  private pendingFirstSeq: number;
  private pendingNodes: { start: number; size: number; hash: Buffer }[] = [];
  private pendingWallets = new Map<string, number[]>();

  /** Resumes the ledger in `store` (which has a genesis, and may have epochs) as its writer. */
  constructor(readonly store: SqliteStore, readonly node: KeyPair) {
    const g = store.genesis();
    assert.ok(g !== undefined && g.nodeKey.equals(node.raw), 'the forger resumes its own node\'s ledger');
    this.genesis = g;
    this.nodeHex = hex(node.raw);
    const last = store.lastEpoch();
    const head = store.head();
    if (last === undefined || head === undefined) {
      this.frontier = new MerkleFrontier();
      this.nextSeq = 0;
      this.lastHash = genesisHash(g);
      this.lastTimeMs = g.genesisTimeMs;
      this.mintedUj = 0;
      this.burnedUj = 0;
      this.lastMintEndMs = g.genesisTimeMs;
      this.nextEpoch = 0;
      this.lastEpochTimeMs = 0;
      this.balances.set(this.nodeHex, 0);
    } else {
      this.frontier = MerkleFrontier.fromSource(store, last.treeSize);
      assert.ok(this.frontier.root().equals(last.root), 'the stored nodes give the last signed root');
      this.nextSeq = head.nextSeq;
      this.lastHash = Buffer.from(head.lastHash, 'hex');
      this.lastTimeMs = head.lastTimeMs;
      this.mintedUj = head.mintedUj;
      this.burnedUj = head.burnedUj;
      this.lastMintEndMs = head.lastMintEndMs;
      this.nextEpoch = last.epoch + 1;
      this.lastEpochTimeMs = last.timeMs;
      for (const [w, b, n] of store.balances()) {
        this.balances.set(w, b);
        if (n > 0) this.nonces.set(w, n);
      }
    }
    this.pendingFirstSeq = this.nextSeq;
  }

  get supplyUj(): number {
    return this.mintedUj - this.burnedUj;
  }

  balanceOf(w: Buffer): number | undefined {
    return this.balances.get(hex(w));
  }

  /** Appends one entry, signed into the next epoch by seal(); returns its seq. */
  append(body: Body, m: Move, prevHash: Buffer = this.lastHash): number {
    const fromZero = m.from.equals(ZERO_WALLET);
    const toZero = m.to.equals(ZERO_WALLET);
    const seq = this.nextSeq;
    const e = {
      ...body,
      seq,
      timeMs: m.timeMs ?? this.lastTimeMs + 1,
      prevHash,
      from: m.from,
      to: m.to,
      amountUj: m.amountUj,
      fromBalanceUj: m.fromBalanceUj ?? (fromZero ? 0 : (this.balanceOf(m.from) ?? 0) - m.amountUj),
      toBalanceUj: m.toBalanceUj ?? (toZero ? 0 : (this.balanceOf(m.to) ?? 0) + m.amountUj),
    } as Entry;
    assert.ok(e.fromBalanceUj >= 0 && e.toBalanceUj >= 0, 'the format records no negative balance: pass one');
    const bytes = encodeEntry(e);
    const leaf = leafHash(bytes);
    if (!fromZero) this.balances.set(hex(m.from), e.fromBalanceUj);
    if (!toZero) this.balances.set(hex(m.to), e.toBalanceUj);
    if (e.kind === 'mint') {
      this.mintedUj += e.amountUj;
      this.lastMintEndMs = e.periodEndMs;
    } else if (e.kind === 'burn') {
      this.burnedUj += e.amountUj;
    } else if (e.kind === 'transfer') {
      this.nonces.set(hex(m.from), e.nonce);
    }
    if (this.pending.length === 0) this.pendingFirstSeq = seq;
    this.pending.push(bytes);
    this.pendingHashes.push(leaf);
    this.frontier.push(leaf, (start, size, hash) => {
      if (size >= NODE_MIN_SIZE) this.pendingNodes.push({ start, size, hash });
    });
    const [p1, p2] = partiesOf(m.from, m.to, this.node.raw, ZERO_WALLET);
    for (const p of p2 === null ? [p1] : [p1, p2]) {
      const list = this.pendingWallets.get(hex(p));
      if (list === undefined) this.pendingWallets.set(hex(p), [seq]);
      else list.push(seq);
    }
    this.nextSeq++;
    this.lastHash = leaf;
    this.lastTimeMs = e.timeMs;
    return seq;
  }

  /** Commits the pending entries as the next epoch, signed with the node's key (as Ledger.seal). */
  seal(): void {
    assert.ok(this.pending.length > 0, 'an epoch holds entries');
    const head = { epoch: this.nextEpoch, treeSize: this.frontier.size, timeMs: Math.max(this.lastTimeMs, this.lastEpochTimeMs), root: this.frontier.root() };
    const balances: [string, number, number][] = [];
    for (const w of new Set([this.nodeHex, ...this.pendingWallets.keys()])) balances.push([w, this.balances.get(w) ?? 0, this.nonces.get(w) ?? 0]);
    const batch: EpochBatch = {
      epoch: { ...head, signature: signWith(this.node, epochMessage(this.node.raw, head)) },
      firstSeq: this.pendingFirstSeq,
      count: this.pending.length,
      entries: Buffer.concat(this.pending),
      hashes: Buffer.concat(this.pendingHashes),
      nodes: this.pendingNodes,
      walletIndex: packWalletIndex(this.pendingWallets, this.pendingFirstSeq),
      balances,
      head: { nextSeq: this.nextSeq, lastHash: hex(this.lastHash), lastTimeMs: this.lastTimeMs, mintedUj: this.mintedUj, burnedUj: this.burnedUj, lastMintEndMs: this.lastMintEndMs },
    };
    this.store.commit(batch);
    this.nextEpoch++;
    this.lastEpochTimeMs = head.timeMs;
    this.pending = [];
    this.pendingHashes = [];
    this.pendingNodes = [];
    this.pendingWallets = new Map();
    this.pendingFirstSeq = this.nextSeq;
  }

  // ---- the operations, honest unless told otherwise (`over` overrides the move's fields) ----

  mint(amountUj: number, periodStartMs: number, periodEndMs: number, powerCapMw: number, over: Partial<Move> = {}): number {
    return this.append({ kind: 'mint', periodStartMs, periodEndMs, powerCapMw }, { from: ZERO_WALLET, to: this.node.raw, amountUj, timeMs: Math.max(periodEndMs, this.lastTimeMs + 1), ...over });
  }
  grant(to: Buffer, amountUj: number, over: Partial<Move> = {}): number {
    return this.append({ kind: 'grant' }, { from: this.node.raw, to, amountUj, ...over });
  }
  reward(to: Buffer, amountUj: number, over: Partial<Move> = {}): number {
    return this.append({ kind: 'reward', pid: 7, milliBits: 1585 }, { from: this.node.raw, to, amountUj, ...over });
  }
  burn(amountUj: number, over: Partial<Move> = {}): number {
    return this.append({ kind: 'burn' }, { from: this.node.raw, to: ZERO_WALLET, amountUj, ...over });
  }
  /** A charge of `energyUj` at 1 token/J: due exactly energyUj µJ. */
  charge(wallet: Buffer, energyUj: number, over: Partial<Move> = {}): number {
    return this.append({ kind: 'charge', pid: 3, fuel: 10 * energyUj, energyUj, priceUtPerJ: 1_000_000, basis: 'measured' }, { from: wallet, to: this.node.raw, amountUj: energyUj, ...over });
  }
  rent(wallet: Buffer, amountUj: number): number {
    return this.append({ kind: 'rent', pid: 3, periodMs: 1000, memoryBytes: 65_536 }, { from: wallet, to: this.node.raw, amountUj });
  }
  erasureTax(wallet: Buffer, amountUj: number): number {
    return this.append({ kind: 'erasure_tax', pid: 3, bytes: 4096 }, { from: wallet, to: this.node.raw, amountUj });
  }
  death(wallet: Buffer, amountUj: number): number {
    return this.append({ kind: 'death', pid: 3, reason: 'exited' }, { from: wallet, to: this.node.raw, amountUj });
  }
  /** A transfer signed by `from` over transferMessage (valid, unless `signer` is another key). */
  transfer(from: KeyPair, to: Buffer, amountUj: number, nonce: number, signer: KeyPair = from, over: Partial<Move> = {}): number {
    const signature = signWith(signer, transferMessage(this.node.raw, from.raw, to, amountUj, nonce));
    return this.append({ kind: 'transfer', nonce, signature }, { from: from.raw, to, amountUj, ...over });
  }
  /** Honest filler charges (1,000 µJ each from FILL) until the next entry is `seq`. */
  fillTo(seq: number): void {
    assert.ok(this.nextSeq <= seq, `the layout is already at ${this.nextSeq}, past ${seq}`);
    while (this.nextSeq < seq) this.charge(FILL.raw, 1000);
  }
}

let dir: string;
let n = 0;

/** Epochs 0–2 (entries 0–29) by the real Ledger: a mint, grants, a transfer A → B (nonce 1), charges. */
function honestPrefix(path: string): void {
  let now = T0;
  const L = Ledger.open({ store: new SqliteStore(path), nodeKey: NODE, powerCapW: 100, maxPowerCapW: 1_000_000, epochMaxEntries: 10, now: () => now });
  now += 10_000;
  assert.equal(L.mint().kind, 'ok'); // 0: [T0, T0 + 10 s) at 100 W: 10⁹ µJ
  L.grant(A.raw, 100_000_000); // 1
  L.grant(B.raw, 100_000_000); // 2
  L.grant(C.raw, 1_000); // 3
  L.grant(E.raw, 1_000); // 4
  L.grant(FILL.raw, 500_000_000); // 5
  const sig = signWith(A, transferMessage(NODE.raw, A.raw, B.raw, 12_345, 1));
  assert.equal(L.transfer({ from: A.raw, to: B.raw, amountUj: 12_345, nonce: 1, signature: sig }).kind, 'ok'); // 6
  while (L.size < 30) {
    now += 1;
    L.charge({ wallet: FILL.raw, pid: 1, fuel: 100, energyUj: 1000, priceUtPerJ: 1_000_000, basis: 'measured' });
  }
  assert.equal(L.pendingCount, 0, 'the prefix is three whole epochs');
  L.close();
}

interface Layout {
  /** Entries appended from seq 30 (epoch 3, before the cut at 60); returns the seq of the state the bad entry contradicts, if it is there. */
  early?: (f: Forger) => number | void;
  /** Where the bad entry goes (default 63: inside epoch 4, not the first of its segment). */
  at?: number;
  /** Appends the bad entry (or entries) at `at`; returns the seq that must be reported. */
  bad: (f: Forger) => number;
}

/**
 * Builds a ledger: the honest prefix, then the forger's epochs 3 (to seq 60), 4 (to 70) and
 * 5 (to 80), with `early` at the start of epoch 3 and `bad` at `at`. Returns the file's path and
 * the seq the bad entry got.
 */
function forge(l: Layout): { path: string; bad: number; early: number | undefined } {
  const path = join(dir, `f${n++}`, 'ledger.db');
  honestPrefix(path);
  const store = new SqliteStore(path);
  try {
    const f = new Forger(store, NODE);
    assert.equal(f.nextSeq, 30);
    const early = l.early === undefined ? undefined : (l.early(f) as number | undefined);
    f.fillTo(60);
    f.seal();
    f.fillTo(l.at ?? 63);
    const bad = l.bad(f);
    f.fillTo(Math.max(70, f.nextSeq));
    f.seal();
    f.fillTo(Math.max(80, f.nextSeq + 1));
    f.seal();
    return { path, bad, early };
  } finally {
    store.close();
  }
}

/** The segment (index) that holds `seq` when the ledger is verified on `threads` threads. */
function segmentOf(store: SqliteStore, threads: number, seq: number): number {
  const segs = planSegments([...store.epochs()], threads);
  assert.equal(segs.length, threads, `${threads} segments`);
  return segs.findIndex((s) => s.firstSeq <= seq && seq < s.endSeq);
}

/**
 * Verifies the ledger at `path` in one pass and on 2, 3 and 4 threads (one entry per thread is
 * enough to split): all must agree on ok, and on the problem's seq (or its epoch, for a problem
 * that names no entry). With `apart`, checks first that on every split the entry `apart[1]` is in
 * a later segment than `apart[0]`.
 */
async function verifyEveryWay(path: string, apart?: [number, number]): Promise<VerifyReport> {
  const store = new SqliteStore(path, { readonly: true });
  try {
    if (apart !== undefined) {
      for (const threads of [2, 3, 4]) {
        const [a, b] = [segmentOf(store, threads, apart[0]), segmentOf(store, threads, apart[1])];
        assert.ok(a >= 0 && a < b, `${threads} threads: entry ${apart[1]} (segment ${b}) must be in a later segment than entry ${apart[0]} (segment ${a})`);
      }
    }
    const one = verifyLedger(store);
    for (const threads of [2, 3, 4]) {
      const many = await verifyLedgerParallel(store, { threads, minEntriesPerThread: 1 });
      assert.equal(many.threads, threads, `${threads} threads asked, ${many.threads} used`);
      const both = `${threads} threads: ${many.problem?.message} | one pass: ${one.problem?.message}`;
      assert.equal(many.ok, one.ok, both);
      assert.equal(many.problem?.seq, one.problem?.seq, both);
      if (one.problem?.seq === undefined) assert.equal(many.problem?.epoch, one.problem?.epoch, both);
      if (one.ok) {
        assert.equal(many.entries, one.entries, both);
        assert.equal(many.supplyUj, one.supplyUj, both);
        assert.equal(many.wallets, one.wallets, both);
      }
    }
    return one;
  } finally {
    store.close();
  }
}

/**
 * Forges the layout and expects every verifier to fail at the bad entry with a message matching
 * `why`. `against`: the entry whose state the bad one contradicts (checked to be in an earlier
 * segment on every split), if there is one.
 */
async function expectCaught(l: Layout, why: RegExp, against?: number | ((early: number | undefined) => number)): Promise<VerifyReport> {
  const { path, bad, early } = forge(l);
  const state = against === undefined ? undefined : typeof against === 'number' ? against : against(early);
  const r = await verifyEveryWay(path, state === undefined ? undefined : [state, bad]);
  assert.equal(r.ok, false, `entry ${bad} must not pass`);
  assert.equal(r.problem?.seq, bad, r.problem?.message);
  assert.match(r.problem!.message, why);
  assert.match(r.problem!.message, new RegExp(`entry ${bad}\\b`));
  return r;
}

describe('a dishonest node: rule-breaking entries it hashes and signs properly', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'maxwell-forged-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the forger is right: an honest forged ledger of every kind passes every verifier', async () => {
    const { path } = forge({
      early: (f) => {
        const end = f.lastMintEndMs + 5_000;
        f.mint(400_000_000, f.lastMintEndMs, end, 100_000);
        f.grant(NEVER.raw, 5_000); // a new wallet, created by a grant
        f.reward(STRANGER.raw, 777); // another, created by a reward
        f.transfer(A, C.raw, 1_000, 2); // A's second transfer
        f.rent(B.raw, 99);
        f.erasureTax(B.raw, 12);
        f.death(STRANGER.raw, 0);
        f.burn(1_000);
      },
      bad: (f) => {
        // The same kinds again in a later segment, each meeting its wallet for the first time there.
        f.transfer(A, B.raw, 2_000, 3);
        f.transfer(NEVER, STRANGER.raw, 1_000, 1);
        f.charge(C.raw, 2_000); // C holds 1,000 + 1,000
        f.charge(E.raw, 1_000); // E's whole balance
        f.mint(50_000, f.lastMintEndMs, f.lastMintEndMs + 1, 100_000);
        f.death(STRANGER.raw, 1_777);
        return f.burn(2_000);
      },
    });
    const r = await verifyEveryWay(path);
    assert.ok(r.ok, r.problem?.message);
    assert.equal(r.entries, 80);
    assert.equal(r.epochs, 6);
    const store = new SqliteStore(path, { readonly: true });
    try {
      // The forger's books are the replayed ones: what the verifier compared with the stored balances.
      const bal = new Map(store.balances().map(([w, b]) => [w, b]));
      assert.equal(bal.get(hex(E.raw)), 0);
      assert.equal(bal.get(hex(C.raw)), 0);
      assert.equal(r.supplyUj, 1_000_000_000 + 400_000_000 + 50_000 - 1_000 - 2_000);
    } finally {
      store.close();
    }
    // The real writer resumes the forged file (its open checks the head, the balances and the
    // Merkle frontier against the last signed root) and goes on writing: still valid.
    let now = T0 + 1_000_000;
    const L = Ledger.open({ store: new SqliteStore(path), nodeKey: NODE, powerCapW: 100, maxPowerCapW: 1_000_000, now: () => now });
    assert.equal(L.size, 80);
    assert.equal(L.supplyUj, r.supplyUj);
    assert.equal(L.nextNonce(A.raw), 4);
    now += 1;
    assert.equal(L.charge({ wallet: B.raw, pid: 1, fuel: 1, energyUj: 5, priceUtPerJ: 1_000_000, basis: 'measured' }).kind, 'ok');
    L.close();
    const again = await verifyEveryWay(path);
    assert.ok(again.ok, again.problem?.message);
    assert.equal(again.entries, 81);
  });

  it('a supply of exactly 2^53 − 1 reached by mints in two segments passes', async () => {
    const { path } = forge({
      early: (f) => {
        f.mint(4_000_000_000_000_000, f.lastMintEndMs, f.lastMintEndMs + 4_000_000, 1_000_000_000);
        f.grant(B.raw, 4_000_000_000_000_000);
      },
      bad: (f) => {
        const room = MAX_UJ - f.supplyUj;
        return f.mint(room, f.lastMintEndMs, f.lastMintEndMs + Math.ceil(room / 1_000_000_000), 1_000_000_000);
      },
    });
    const r = await verifyEveryWay(path);
    assert.ok(r.ok, r.problem?.message);
    assert.equal(r.supplyUj, MAX_UJ);
  });

  it('(a) a supply above 2^53 − 1 reached by two big mints in different segments', async () => {
    await expectCaught({
      early: (f) => {
        // 5 × 10¹⁵ µJ at the genesis maximum of 1 MW for 5,000 s; then given away, so that no
        // single balance overflows when the second mint comes.
        const s = f.mint(5_000_000_000_000_000, f.lastMintEndMs, f.lastMintEndMs + 5_000_000, 1_000_000_000);
        f.grant(B.raw, 5_000_000_000_000_000);
        return s;
      },
      bad: (f) => {
        const room = MAX_UJ - f.supplyUj;
        assert.ok(room < 5_000_000_000_000_000 && f.balanceOf(NODE.raw)! + room + 1 < MAX_UJ);
        return f.mint(room + 1, f.lastMintEndMs, f.lastMintEndMs + 5_000_000, 1_000_000_000);
      },
    }, /R4: the supply would exceed/, (early) => early!);
  });

  it('(b) a transfer replaying an earlier nonce of the same sender, signed by the sender', async () => {
    // Entry 6 (prefix) was A → B, nonce 1: the node writes the same signed transfer again.
    await expectCaught({ bad: (f) => f.transfer(A, B.raw, 12_345, 1) }, /R7: nonce 1, expected 2/, 6);
    // And a later nonce that skips one.
    await expectCaught({ bad: (f) => f.transfer(A, B.raw, 10, 3) }, /R7: nonce 3, expected 2/, 6);
  });

  it('(c) a mint whose period overlaps the previous mint\'s', async () => {
    // Entry 0 minted [T0, T0 + 10 s).
    await expectCaught({ bad: (f) => f.mint(100_000_000, T0 + 5_000, T0 + 6_000, 100_000) }, /R6: the mint period starts at/, 0);
    // A later mint that overlaps the previous one, which is in an earlier segment too.
    await expectCaught({
      early: (f) => f.mint(1_000_000, T0 + 10_000, T0 + 20_000, 100_000),
      bad: (f) => f.mint(1_000_000, T0 + 19_999, T0 + 30_000, 100_000),
    }, /R6: the mint period starts at/, (early) => early!);
  });

  it('(d) a charge from a wallet never funded', async () => {
    // Recorded as if the wallet had had the amount (0 after), and as if it had had more.
    await expectCaught({ bad: (f) => f.charge(NEVER.raw, 500, { fromBalanceUj: 0 }) }, /R4: .*not a known wallet/);
    await expectCaught({ bad: (f) => f.charge(NEVER.raw, 500, { fromBalanceUj: 1_000_000 }) }, /R4: .*not a known wallet/);
  });

  it('(e) an entry whose time goes back across a seam', async () => {
    // Entry 60 is the first of a segment on every split: its time is 1 ms before entry 59's.
    await expectCaught({ at: 60, bad: (f) => f.charge(FILL.raw, 1000, { timeMs: f.lastTimeMs - 1 }) }, /R1: time .* is before the previous entry's/, 59);
    // And inside a segment, after entries of good time.
    await expectCaught({ bad: (f) => f.charge(FILL.raw, 1000, { timeMs: f.lastTimeMs - 1 }) }, /R1: time .* is before the previous entry's/);
  });

  it('(e) an entry that does not chain to the previous one across a seam (a graft), hashed and signed', async () => {
    await expectCaught({ at: 60, bad: (f) => f.append({ kind: 'charge', pid: 1, fuel: 1, energyUj: 1000, priceUtPerJ: 1_000_000, basis: 'measured' },
      { from: FILL.raw, to: NODE.raw, amountUj: 1000 }, Buffer.alloc(32, 0xab)) }, /R1: prevHash is not the previous entry's hash/, 59);
  });

  it('(f) a grant to an existing wallet with a wrong recorded balance, at its first touch in a later segment', async () => {
    // C holds 1,000 (entry 3). The grant records C as if it had had nothing (a fresh wallet) …
    await expectCaught({ bad: (f) => f.grant(C.raw, 500, { toBalanceUj: 500 }) }, /R5/, 3);
    // … or 7 µJ more than it had.
    await expectCaught({ bad: (f) => f.grant(C.raw, 500, { toBalanceUj: 1_507 }) }, /R5/, 3);
    // The same lie told by a reward, and by a charge's payer side.
    await expectCaught({ bad: (f) => f.reward(C.raw, 500, { toBalanceUj: 500 }) }, /R5/, 3);
    await expectCaught({ bad: (f) => f.charge(C.raw, 500, { fromBalanceUj: 501 }) }, /R5/, 3);
  });

  it('(g) an overdraft in a later segment', async () => {
    // E holds 1,000 (entry 4) and is charged 1,500: the entry must record some balance, 0 here.
    await expectCaught({ bad: (f) => f.charge(E.raw, 1_500, { fromBalanceUj: 0 }) }, /R4: .*has 1000 µJ, the entry takes 1500|R5/, 4);
    // A transfer out of more than the sender has (A's nonce 2 is its next).
    await expectCaught({ bad: (f) => f.transfer(A, B.raw, 200_000_000, 2, A, { fromBalanceUj: 0 }) }, /R4|R5/, 6);
  });

  it('(h) a charge whose amount breaks R8', async () => {
    // 1,000 µJ of energy at 1 token/J is due 1,000 µJ: billed 1,001, balances recorded to match.
    await expectCaught({ bad: (f) => f.charge(B.raw, 1_000, { amountUj: 1_001 }) }, /R8: charged 1001 µJ for 1000 µJ/, 2);
  });

  // The stored Merkle nodes (unsigned: a cache for proofs) are checked after every entry, in one
  // pass and when segments are joined alike, so a rule-breaking entry anywhere is the first
  // problem, however the walk is cut (docs/ledger.md: "the joined result, first problem included,
  // is exactly what a single pass gives").
  it('a wrong stored Merkle node early and a rule-breaking entry later: every mode reports the same first problem', async () => {
    const { path, bad } = forge({ bad: (f) => f.charge(B.raw, 1_000, { amountUj: 1_001 }) });
    // The node writes a wrong 16-leaf node over entries 16..31 (nodes are not signed; any writer of the file can do this).
    const db = new Database(path);
    assert.equal(db.prepare('UPDATE nodes SET hash = zeroblob(32) WHERE size = 16 AND start = 16').run().changes, 1);
    db.close();
    const r = await verifyEveryWay(path);
    assert.equal(r.ok, false);
    assert.ok(r.problem?.seq === bad || r.problem?.seq === undefined, r.problem?.message);
  });
});

