// The ledger writer (src/ledger/ledger.ts) over the SQLite store: the mint bound, every
// operation's happy path and the balances it leaves, insufficient funds as a value, bad input
// as a MaxwellError with a stable code that changes nothing, durability by epoch, and a
// model-based property test that replays random operations against a plain reference model of
// the balances, then checks the stored file with `ledger verify` (verifyLedger).
//
// Every ledger lives in its own SQLite file under one temporary directory, removed at the end,
// and runs on a fake clock (`now: () => clock.t`) that the tests advance by hand: the mint
// accrues with time, so the amounts are exact.
//
// Property tests use fast-check with a fixed seed; a failure prints the counterexample (the
// operation sequence) and the `path` to replay it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MaxwellError } from '../../src/errors.js';
import { MAX_UJ, transferMessage, type DeathReasonName } from '../../src/ledger/format.js';
import { generateKey, signWith, type KeyPair } from '../../src/ledger/keys.js';
import { Ledger, type Outcome, type SignedTransfer } from '../../src/ledger/ledger.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import type { LedgerState } from '../../src/ledger/state.js';
import { verifyLedger } from '../../src/ledger/verify.js';

// includeErrorInReport: the failing assertion's message (which step, which balance) is the diagnostic.
const FC = { seed: 0x6c656467, numRuns: 120, includeErrorInReport: true } as const;
const T0 = 1_700_000_000_000;

// ---------- fixtures ----------

let root: string;
let fileNo = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'maxwell-ledger-spec-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});
/** A fresh path for a ledger file. */
const newPath = () => join(root, `l${fileNo++}`, 'ledger.db');

// Key generation is cheap but not free: one set for the whole file (each ledger is its own file).
const NODE = generateKey();
const OTHER_NODE = generateKey();
const W = [generateKey(), generateKey(), generateKey(), generateKey()];
const STRANGER = generateKey(); // never paid by any ledger here

class Clock {
  t = T0;
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

function open(path: string, clock: Clock, extra: Partial<Parameters<typeof Ledger.open>[0]> = {}): Ledger {
  return Ledger.open({ store: new SqliteStore(path), nodeKey: NODE, powerCapW: 1, now: clock.now, ...extra });
}

function signed(ledger: Ledger, from: KeyPair, to: Buffer, amountUj: number, nonce = ledger.nextNonce(from.raw), signer: KeyPair = from, nodeKey: Buffer = ledger.nodeWallet): SignedTransfer {
  return { from: from.raw, to, amountUj, nonce, signature: signWith(signer, transferMessage(nodeKey, from.raw, to, amountUj, nonce)) };
}

function throwsCode(fn: () => unknown, code: string, why = code): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaxwellError, `${why}: expected a MaxwellError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${why}: ${e.message}`);
    return true;
  }, why);
}

/** Everything an operation could change, as plain data. */
function snapshot(l: Ledger) {
  return {
    size: l.size,
    pending: l.pendingCount,
    supply: l.supplyUj,
    minted: l.mintedUj,
    burned: l.burnedUj,
    epoch: l.lastEpoch?.epoch,
    node: l.balanceOf(l.nodeWallet),
    wallets: [...W, STRANGER].map((k) => [l.balanceOf(k.raw), l.nextNonce(k.raw)]),
  };
}

/** The ledger's rule state, for its invariants (private to the writer). */
const stateOf = (l: Ledger) => (l as unknown as { state: LedgerState }).state;

function ok(o: Outcome | { kind: 'nothing_accrued' }, amountUj?: number): number {
  assert.equal(o.kind, 'ok', `expected ok, got ${JSON.stringify(o)}`);
  const r = o as Extract<Outcome, { kind: 'ok' }>;
  if (amountUj !== undefined) assert.equal(r.amountUj, amountUj);
  return r.seq;
}

function verifyFile(path: string) {
  const store = new SqliteStore(path, { readonly: true });
  try {
    return verifyLedger(store);
  } finally {
    store.close();
  }
}

// ---------- the mint ----------

describe('ledger: the mint bound', () => {
  it('mints exactly powerCapMw × elapsed ms µJ, then nothing more at the same time', () => {
    const clock = new Clock();
    const l = open(newPath(), clock, { powerCapW: 2 });
    assert.equal(l.genesis.genesisTimeMs, T0);
    assert.equal(l.genesis.maxPowerCapMw, 2000);
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' }, 'no time has passed since genesis');
    clock.advance(1500);
    // 2 W for 1.5 s = 3 J = 3,000,000 µJ (1 mW for 1 ms is 1 µJ).
    assert.deepEqual(l.mint(), { kind: 'ok', seq: 0, amountUj: 3_000_000 });
    assert.equal(l.balanceOf(l.nodeWallet), 3_000_000);
    assert.equal(l.mintedUj, 3_000_000);
    assert.equal(l.supplyUj, 3_000_000);
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' });
    assert.equal(l.size, 1);
    clock.advance(1);
    assert.deepEqual(l.mint(), { kind: 'ok', seq: 1, amountUj: 2000 });
    l.close();
    const r = verifyFile(l.store.path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.mintedUj, 3_002_000);
  });

  it('mint(maxUj) mints at most maxUj and leaves the rest of the period to accrue', () => {
    const clock = new Clock();
    const l = open(newPath(), clock, { powerCapW: 2 });
    clock.advance(1000);
    ok(l.mint(1001), 1001); // covers ceil(1001 / 2000) = 1 ms of the 1000
    // The rest of that 1 ms is not minted (rounded down, never above the bound); the other 999 ms are.
    ok(l.mint(), 2000 * 999);
    assert.equal(l.mintedUj, 1001 + 1_998_000);
    assert.ok(l.mintedUj <= 2000 * 1000, 'in all, at most the cap × the time');
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' });
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) throwsCode(() => l.mint(bad), 'E_AMOUNT_INVALID', `mint(${bad})`);
    l.close();
    assert.equal(verifyFile(l.store.path).ok, true);
  });

  it('setPowerCap changes the rate, up to the maximum fixed at genesis and not above', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock, { powerCapW: 1, maxPowerCapW: 3 });
    assert.equal(l.genesis.maxPowerCapMw, 3000);
    l.setPowerCap(3);
    assert.equal(l.powerCapW, 3);
    clock.advance(100);
    ok(l.mint(), 300_000);
    const before = snapshot(l);
    for (const bad of [3.001, 4, 1e6, 0, -1, NaN, Infinity]) throwsCode(() => l.setPowerCap(bad), 'E_BAD_ARGUMENT', `setPowerCap(${bad})`);
    assert.equal(l.powerCapW, 3);
    assert.deepEqual(snapshot(l), before);
    l.setPowerCap(0.5);
    clock.advance(100);
    ok(l.mint(), 50_000);
    l.close();
    // The maximum is the genesis's, whatever a later open asks for.
    throwsCode(() => open(path, clock, { powerCapW: 4, maxPowerCapW: 10 }), 'E_BAD_ARGUMENT', 'reopen above the genesis maximum');
    const again = open(path, clock, { powerCapW: 3, maxPowerCapW: 10 });
    assert.equal(again.genesis.maxPowerCapMw, 3000);
    throwsCode(() => again.setPowerCap(3.5), 'E_BAD_ARGUMENT');
    again.close();
    assert.equal(verifyFile(path).ok, true);
  });

  it('refuses a power cap above the maximum, or a maximum above 1 MW, at open', () => {
    const clock = new Clock();
    throwsCode(() => open(newPath(), clock, { powerCapW: 5, maxPowerCapW: 4 }), 'E_BAD_ARGUMENT');
    throwsCode(() => open(newPath(), clock, { powerCapW: 0 }), 'E_BAD_ARGUMENT');
    throwsCode(() => open(newPath(), clock, { powerCapW: 1, maxPowerCapW: 1_000_001 }), 'E_BAD_ARGUMENT');
  });

  it('the supply stops at 2^53 − 1 µJ: a mint takes what fits, then nothing accrues', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock, { powerCapW: 1_000_000 }); // 1 MW: 10⁹ µJ per ms
    clock.advance(10_000_000);
    ok(l.mint(), MAX_UJ);
    assert.equal(l.supplyUj, MAX_UJ);
    clock.advance(10_000_000);
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' });
    ok(l.grant(W[0]!.raw, MAX_UJ), MAX_UJ);
    assert.equal(l.balanceOf(W[0]!.raw), MAX_UJ);
    ok(l.rent({ wallet: W[0]!.raw, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: MAX_UJ - 1 }), MAX_UJ - 1);
    l.close();
    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.supplyUj, MAX_UJ);
  });

  it(
    'open refuses a power cap that rounds to 0 mW, as setPowerCap does',
    () => {
      const clock = new Clock();
      const path = newPath();
      let l: Ledger | undefined;
      try {
        throwsCode(() => (l = open(path, clock, { powerCapW: 0.0004 })), 'E_BAD_ARGUMENT', 'powerCapW 0.0004 (0 mW)');
      } finally {
        l?.store.close();
      }
    },
  );

  it('never mints for time before genesis or while the clock steps back', () => {
    const clock = new Clock();
    const l = open(newPath(), clock);
    clock.advance(10);
    ok(l.mint(), 10_000);
    clock.advance(-5000);
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' });
    clock.advance(5000);
    assert.deepEqual(l.mint(), { kind: 'nothing_accrued' }, 'the period up to the last mint is spent');
    clock.advance(3);
    ok(l.mint(), 3000);
    l.close();
  });

  it('a ledger opened and closed with no entry keeps its genesis time: the mint accrues from it', () => {
    const clock = new Clock();
    const path = newPath();
    open(path, clock).close();
    clock.advance(250);
    const l = open(path, clock);
    assert.equal(l.genesis.genesisTimeMs, T0);
    ok(l.mint(), 250_000);
    l.close();
    assert.equal(verifyFile(path).ok, true);
  });
});

// ---------- happy paths ----------

describe('ledger: every operation, and the balances it leaves', () => {
  it('mint, grant, charge, transfer, rent, erasure tax, reward, query fee, burn, death', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock);
    const [a, b] = [W[0]!, W[1]!];
    const expect = (node: number, wa: number | undefined, wb: number | undefined) => {
      assert.equal(l.balanceOf(l.nodeWallet), node, 'node');
      assert.equal(l.balanceOf(a.raw), wa, 'wallet a');
      assert.equal(l.balanceOf(b.raw), wb, 'wallet b');
      assert.equal(node + (wa ?? 0) + (wb ?? 0), l.supplyUj, 'the balances sum to the supply');
      assert.equal(l.supplyUj, l.mintedUj - l.burnedUj);
      assert.equal(stateOf(l).checkInvariants(), null);
    };
    let seq = 0;
    clock.advance(10_000);
    assert.equal(ok(l.mint(), 10_000_000), seq++);
    expect(10_000_000, undefined, undefined);

    clock.advance(1);
    assert.equal(ok(l.grant(a.raw, 3_000_000), 3_000_000), seq++);
    assert.equal(ok(l.grant(b.raw, 1_000_000), 1_000_000), seq++);
    expect(6_000_000, 3_000_000, 1_000_000);

    // 1 µJ at 1 µtoken/J is 10⁻⁶ µJ: rounded up to 1.
    assert.equal(ok(l.charge({ wallet: a.raw, pid: 7, fuel: 100, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }), 1), seq++);
    expect(6_000_001, 2_999_999, 1_000_000);
    // 1 J at 1.500001 tokens/J.
    assert.equal(ok(l.charge({ wallet: a.raw, pid: 7, fuel: 1 << 20, energyUj: 1_000_000, priceUtPerJ: 1_500_001, basis: 'estimated' }), 1_500_001), seq++);
    expect(7_500_002, 1_499_998, 1_000_000);

    assert.equal(l.nextNonce(a.raw), 1);
    assert.equal(ok(l.transfer(signed(l, a, b.raw, 500_000)), 500_000), seq++);
    assert.equal(l.nextNonce(a.raw), 2);
    assert.equal(l.nextNonce(b.raw), 1, 'the payee\'s nonce does not move');
    expect(7_500_002, 999_998, 1_500_000);

    assert.equal(ok(l.rent({ wallet: b.raw, pid: 8, periodMs: 1000, memoryBytes: 65_536, amountUj: 100_000 }), 100_000), seq++);
    expect(7_600_002, 999_998, 1_400_000);
    assert.equal(ok(l.erasureTax({ wallet: b.raw, pid: 8, bytes: 4096, amountUj: 50_000 }), 50_000), seq++);
    expect(7_650_002, 999_998, 1_350_000);
    assert.equal(ok(l.reward({ wallet: a.raw, pid: 7, milliBits: 12_345, amountUj: 250_000 }), 250_000), seq++);
    expect(7_400_002, 1_249_998, 1_350_000);
    // A requester's query fee is paid to the treasury; the treasury cannot pay one to itself.
    assert.equal(ok(l.queryFee({ wallet: a.raw, pid: 7, samples: 45, amountUj: 70 }), 70), seq++);
    expect(7_400_072, 1_249_928, 1_350_000);
    assert.equal(ok(l.reward({ wallet: a.raw, pid: 7, milliBits: 1, amountUj: 70 }), 70), seq++);
    expect(7_400_002, 1_249_998, 1_350_000);
    assert.throws(() => l.queryFee({ wallet: l.nodeWallet, pid: 7, samples: 1, amountUj: 1 }), { code: 'E_WALLET_INVALID' });
    assert.deepEqual(l.queryFee({ wallet: b.raw, pid: 7, samples: 1, amountUj: 2_000_000 }), { kind: 'insufficient_funds', needUj: 2_000_000, haveUj: 1_350_000 });
    assert.equal(ok(l.burn(400_002), 400_002), seq++);
    expect(7_000_000, 1_249_998, 1_350_000);
    assert.equal(l.burnedUj, 400_002);
    assert.equal(l.supplyUj, 9_599_998);
    // A death may carry no tax, and may take all that is left.
    assert.equal(ok(l.death({ wallet: b.raw, pid: 8, reason: 'exited', amountUj: 0 }), 0), seq++);
    expect(7_000_000, 1_249_998, 1_350_000);
    assert.equal(ok(l.death({ wallet: b.raw, pid: 9, reason: 'cannot_pay_rent', amountUj: 1_350_000 }), 1_350_000), seq++);
    expect(8_350_000, 1_249_998, 0);
    // A wallet emptied to 0 is still known: it may die again (tax 0) and be paid again.
    assert.equal(ok(l.death({ wallet: b.raw, pid: 10, reason: 'trapped', amountUj: 0 }), 0), seq++);
    assert.equal(ok(l.reward({ wallet: b.raw, pid: 10, milliBits: 0, amountUj: 1 }), 1), seq++);
    expect(8_349_999, 1_249_998, 1);
    // Every kind of pid, fuel and size at its edge.
    assert.equal(ok(l.charge({ wallet: a.raw, pid: 0xffff_ffff, fuel: MAX_UJ, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }), 1), seq++);
    expect(8_350_000, 1_249_997, 1);

    assert.equal(l.size, seq);
    assert.equal(l.pendingCount, seq);
    const ep = l.seal();
    assert.ok(ep !== undefined);
    assert.equal(ep.epoch, 0);
    assert.equal(ep.treeSize, seq);
    assert.equal(l.pendingCount, 0);
    assert.equal(l.seal(), undefined, 'nothing pending: no epoch');
    l.close();

    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.entries, seq);
    assert.equal(r.epochs, 1);
    assert.equal(r.supplyUj, 9_599_998);
    assert.equal(r.wallets, 3);
  });
});

// ---------- insufficient funds ----------

describe('ledger: insufficient funds is a value and changes nothing', () => {
  it('for every operation that pays', () => {
    const clock = new Clock();
    const l = open(newPath(), clock);
    const [a, b] = [W[0]!, W[1]!];
    clock.advance(10);
    ok(l.mint(), 10_000);
    ok(l.grant(a.raw, 600));
    ok(l.grant(b.raw, 400));
    l.seal();
    ok(l.grant(a.raw, 1)); // one pending entry too: a refusal must not drop it
    const cases: [string, () => Outcome, number, number][] = [
      ['grant', () => l.grant(a.raw, 8_999 + 1), 9_000, 8_999],
      ['reward', () => l.reward({ wallet: b.raw, pid: 1, milliBits: 1, amountUj: 9_000 }), 9_000, 8_999],
      ['burn', () => l.burn(9_000), 9_000, 8_999],
      ['charge', () => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: 602, priceUtPerJ: 1_000_000, basis: 'measured' }), 602, 601],
      ['charge (rounding up past the balance)', () => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: 601_000_001, priceUtPerJ: 1, basis: 'measured' }), 602, 601],
      ['transfer', () => l.transfer(signed(l, a, b.raw, 602)), 602, 601],
      ['rent', () => l.rent({ wallet: b.raw, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: 401 }), 401, 400],
      ['erasure tax', () => l.erasureTax({ wallet: b.raw, pid: 1, bytes: 1, amountUj: 401 }), 401, 400],
      ['death', () => l.death({ wallet: b.raw, pid: 1, reason: 'killed', amountUj: 401 }), 401, 400],
    ];
    for (const [what, op, need, have] of cases) {
      const before = snapshot(l);
      assert.deepEqual(op(), { kind: 'insufficient_funds', needUj: need, haveUj: have }, what);
      assert.deepEqual(snapshot(l), before, `${what} changed the ledger`);
    }
    // The exact balance is enough.
    ok(l.transfer(signed(l, a, b.raw, 601)), 601);
    assert.equal(l.balanceOf(a.raw), 0);
    assert.deepEqual(l.transfer(signed(l, a, b.raw, 1)), { kind: 'insufficient_funds', needUj: 1, haveUj: 0 });
    assert.equal(l.nextNonce(a.raw), 2, 'a refused transfer does not use its nonce');
    l.close();
    const r = verifyFile(l.store.path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.entries, 5);
  });
});

// ---------- bad input ----------

describe('ledger: bad input throws a MaxwellError with its code and changes nothing', () => {
  const BAD_AMOUNTS = [NaN, -1, 0, 1.5, 2 ** 53, Infinity, -Infinity, MAX_UJ + 2];
  const clock = new Clock();
  let l: Ledger;
  let path: string;
  const [a, b, c] = [W[0]!, W[1]!, W[2]!];

  before(() => {
    path = newPath();
    l = open(path, clock);
    clock.advance(100);
    ok(l.mint(), 100_000);
    ok(l.grant(a.raw, 10_000));
    ok(l.grant(b.raw, 10_000));
    l.seal();
    ok(l.grant(a.raw, 1)); // and one pending
  });
  after(() => {
    const size = l.size;
    l.close();
    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.entries, size, 'the refused operations left no entry');
  });

  /** Runs `fn`, which must throw `code`, and checks that the ledger did not move. */
  function refused(fn: () => unknown, code: string, why: string): void {
    const before = snapshot(l);
    throwsCode(fn, code, why);
    assert.deepEqual(snapshot(l), before, `${why}: the ledger changed`);
    assert.equal(stateOf(l).checkInvariants(), null);
  }

  it('E_AMOUNT_INVALID for NaN, negative, 0, 1.5, 2^53, ±Infinity amounts, in every operation', () => {
    for (const x of BAD_AMOUNTS) {
      refused(() => l.grant(a.raw, x), 'E_AMOUNT_INVALID', `grant ${x}`);
      refused(() => l.burn(x), 'E_AMOUNT_INVALID', `burn ${x}`);
      refused(() => l.rent({ wallet: a.raw, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: x }), 'E_AMOUNT_INVALID', `rent ${x}`);
      refused(() => l.erasureTax({ wallet: a.raw, pid: 1, bytes: 1, amountUj: x }), 'E_AMOUNT_INVALID', `erasure tax ${x}`);
      refused(() => l.reward({ wallet: a.raw, pid: 1, milliBits: 1, amountUj: x }), 'E_AMOUNT_INVALID', `reward ${x}`);
      refused(() => l.transfer({ ...signed(l, a, b.raw, 1), amountUj: x }), 'E_AMOUNT_INVALID', `transfer ${x}`);
      refused(() => l.mint(x), 'E_AMOUNT_INVALID', `mint ${x}`);
      // A death may carry 0, nothing else.
      if (x !== 0) refused(() => l.death({ wallet: a.raw, pid: 1, reason: 'killed', amountUj: x }), 'E_AMOUNT_INVALID', `death ${x}`);
    }
    // A charge whose amount would overflow, or be 0.
    refused(() => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: MAX_UJ, priceUtPerJ: MAX_UJ, basis: 'measured' }), 'E_AMOUNT_INVALID', 'charge overflow');
    refused(() => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: MAX_UJ, priceUtPerJ: 1_000_001, basis: 'measured' }), 'E_AMOUNT_INVALID', 'charge just over 2^53 − 1');
    refused(() => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: 0, priceUtPerJ: 5, basis: 'measured' }), 'E_AMOUNT_INVALID', 'charge of no energy');
    refused(() => l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: 5, priceUtPerJ: 0, basis: 'measured' }), 'E_AMOUNT_INVALID', 'charge at price 0');
  });

  it('E_WALLET_INVALID for a 31- or 33-byte, all-zero or non-Buffer wallet, and for the wrong party', () => {
    const bads: [string, Buffer][] = [
      ['31 bytes', Buffer.alloc(31, 7)],
      ['33 bytes', Buffer.alloc(33, 7)],
      ['all zeros', Buffer.alloc(32)],
      ['empty', Buffer.alloc(0)],
      ['a string', 'ab'.repeat(32) as unknown as Buffer],
    ];
    for (const [what, w] of bads) {
      refused(() => l.grant(w, 1), 'E_WALLET_INVALID', `grant to ${what}`);
      refused(() => l.charge({ wallet: w, pid: 1, fuel: 1, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }), 'E_WALLET_INVALID', `charge ${what}`);
      refused(() => l.rent({ wallet: w, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: 1 }), 'E_WALLET_INVALID', `rent ${what}`);
      refused(() => l.erasureTax({ wallet: w, pid: 1, bytes: 1, amountUj: 1 }), 'E_WALLET_INVALID', `erasure tax ${what}`);
      refused(() => l.reward({ wallet: w, pid: 1, milliBits: 1, amountUj: 1 }), 'E_WALLET_INVALID', `reward ${what}`);
      refused(() => l.death({ wallet: w, pid: 1, reason: 'killed', amountUj: 0 }), 'E_WALLET_INVALID', `death ${what}`);
      refused(() => l.transfer({ ...signed(l, a, b.raw, 1), to: w }), 'E_WALLET_INVALID', `transfer to ${what}`);
      refused(() => l.transfer({ ...signed(l, a, b.raw, 1), from: w }), 'E_WALLET_INVALID', `transfer from ${what}`);
    }
    const node = l.nodeWallet;
    refused(() => l.grant(node, 1), 'E_WALLET_INVALID', 'grant to the treasury');
    refused(() => l.reward({ wallet: node, pid: 1, milliBits: 1, amountUj: 1 }), 'E_WALLET_INVALID', 'reward to the treasury');
    refused(() => l.charge({ wallet: node, pid: 1, fuel: 1, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }), 'E_WALLET_INVALID', 'charge the treasury');
    refused(() => l.rent({ wallet: node, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: 1 }), 'E_WALLET_INVALID', 'rent from the treasury');
    refused(() => l.erasureTax({ wallet: node, pid: 1, bytes: 1, amountUj: 1 }), 'E_WALLET_INVALID', 'tax the treasury');
    refused(() => l.death({ wallet: node, pid: 1, reason: 'killed', amountUj: 0 }), 'E_WALLET_INVALID', 'death of the treasury');
    refused(() => l.transfer(signed(l, a, a.raw, 1)), 'E_WALLET_INVALID', 'transfer to oneself');
    refused(() => l.transfer(signed(l, a, node, 1)), 'E_WALLET_INVALID', 'transfer to the treasury');
    refused(() => l.transfer(signed(l, NODE, a.raw, 1)), 'E_WALLET_INVALID', 'transfer from the treasury');
  });

  it('E_WALLET_UNKNOWN for a wallet the ledger never paid', () => {
    const s = STRANGER;
    refused(() => l.charge({ wallet: s.raw, pid: 1, fuel: 1, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }), 'E_WALLET_UNKNOWN', 'charge');
    refused(() => l.rent({ wallet: s.raw, pid: 1, periodMs: 1, memoryBytes: 1, amountUj: 1 }), 'E_WALLET_UNKNOWN', 'rent');
    refused(() => l.erasureTax({ wallet: s.raw, pid: 1, bytes: 1, amountUj: 1 }), 'E_WALLET_UNKNOWN', 'erasure tax');
    refused(() => l.death({ wallet: s.raw, pid: 1, reason: 'killed', amountUj: 0 }), 'E_WALLET_UNKNOWN', 'death with no tax');
    refused(() => l.transfer(signed(l, s, a.raw, 1)), 'E_WALLET_UNKNOWN', 'transfer from');
    refused(() => l.transfer(signed(l, a, s.raw, 1)), 'E_WALLET_UNKNOWN', 'transfer to');
    refused(() => l.transfer(signed(l, a, c.raw, 1)), 'E_WALLET_UNKNOWN', 'transfer to a wallet with a key but never paid');
  });

  it('E_NONCE_INVALID for a replayed transfer, a skipped nonce, nonce 0 or a fractional nonce', () => {
    const t = signed(l, a, b.raw, 10);
    assert.equal(t.nonce, 1);
    ok(l.transfer(t), 10);
    refused(() => l.transfer(t), 'E_NONCE_INVALID', 'the same signed transfer twice');
    refused(() => l.transfer(signed(l, a, b.raw, 10, 1)), 'E_NONCE_INVALID', 'nonce 1 again, freshly signed');
    refused(() => l.transfer(signed(l, a, b.raw, 10, 3)), 'E_NONCE_INVALID', 'nonce 3 after 1 (2 skipped)');
    refused(() => l.transfer(signed(l, a, b.raw, 10, 0)), 'E_NONCE_INVALID', 'nonce 0');
    refused(() => l.transfer({ ...signed(l, a, b.raw, 10), nonce: 2.5 }), 'E_NONCE_INVALID', 'nonce 2.5');
    refused(() => l.transfer({ ...signed(l, a, b.raw, 10), nonce: NaN }), 'E_NONCE_INVALID', 'nonce NaN');
    refused(() => l.transfer({ ...signed(l, a, b.raw, 10), nonce: 2 ** 53 }), 'E_NONCE_INVALID', 'nonce 2^53');
    // Nonces are per sender: b's first is 1 although a has used 1.
    assert.equal(l.nextNonce(b.raw), 1);
    ok(l.transfer(signed(l, b, a.raw, 10)), 10);
    assert.equal(l.nextNonce(a.raw), 2);
    ok(l.transfer(signed(l, a, b.raw, 10, 2)), 10);
  });

  it('E_SIGNATURE_INVALID for a transfer signed by the wrong key, or for another amount, payee or ledger', () => {
    const n = l.nextNonce(a.raw);
    refused(() => l.transfer(signed(l, a, b.raw, 5, n, b)), 'E_SIGNATURE_INVALID', 'signed by the payee');
    refused(() => l.transfer(signed(l, a, b.raw, 5, n, NODE)), 'E_SIGNATURE_INVALID', 'signed by the node');
    refused(() => l.transfer({ ...signed(l, a, b.raw, 5, n), amountUj: 6 }), 'E_SIGNATURE_INVALID', 'signed for 5, asks for 6');
    refused(() => l.transfer({ ...signed(l, a, b.raw, 5, n), amountUj: 5 + 2 ** 32 }), 'E_SIGNATURE_INVALID', 'signed for 5, asks for 5 + 2^32');
    const forC = signed(l, a, c.raw, 5, n);
    refused(() => l.transfer({ ...forC, to: b.raw }), 'E_SIGNATURE_INVALID', 'signed for another payee');
    refused(() => l.transfer(signed(l, a, b.raw, 5, n, a, OTHER_NODE.raw)), 'E_SIGNATURE_INVALID', 'signed for another node\'s ledger');
    const good = signed(l, a, b.raw, 5, n);
    const flipped = Buffer.from(good.signature);
    flipped[17]! ^= 0x40;
    refused(() => l.transfer({ ...good, signature: flipped }), 'E_SIGNATURE_INVALID', 'a flipped bit');
    refused(() => l.transfer({ ...good, signature: good.signature.subarray(0, 63) }), 'E_SIGNATURE_INVALID', 'a 63-byte signature');
    refused(() => l.transfer({ ...good, signature: Buffer.alloc(64) }), 'E_SIGNATURE_INVALID', 'zeros');
    refused(() => l.transfer({ ...good, signature: good.signature.toString('hex') as unknown as Buffer }), 'E_SIGNATURE_INVALID', 'a hex string');
    // And the genuine one still goes through: the refusals did not use the nonce.
    ok(l.transfer(good), 5);
  });

  it('E_BAD_ARGUMENT for a bad pid, fuel, energy, price, basis, period or count', () => {
    const ch = { wallet: a.raw, pid: 1, fuel: 1, energyUj: 1, priceUtPerJ: 1, basis: 'measured' as const };
    for (const pid of [-1, 1.5, 2 ** 32, NaN, Infinity]) {
      refused(() => l.charge({ ...ch, pid }), 'E_BAD_ARGUMENT', `charge pid ${pid}`);
      refused(() => l.rent({ wallet: a.raw, pid, periodMs: 1, memoryBytes: 1, amountUj: 1 }), 'E_BAD_ARGUMENT', `rent pid ${pid}`);
      refused(() => l.erasureTax({ wallet: a.raw, pid, bytes: 1, amountUj: 1 }), 'E_BAD_ARGUMENT', `tax pid ${pid}`);
      refused(() => l.reward({ wallet: a.raw, pid, milliBits: 1, amountUj: 1 }), 'E_BAD_ARGUMENT', `reward pid ${pid}`);
      refused(() => l.death({ wallet: a.raw, pid, reason: 'killed', amountUj: 0 }), 'E_BAD_ARGUMENT', `death pid ${pid}`);
    }
    for (const x of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
      refused(() => l.charge({ ...ch, fuel: x }), 'E_BAD_ARGUMENT', `fuel ${x}`);
      refused(() => l.charge({ ...ch, energyUj: x }), 'E_BAD_ARGUMENT', `energyUj ${x}`);
      refused(() => l.charge({ ...ch, priceUtPerJ: x }), 'E_BAD_ARGUMENT', `priceUtPerJ ${x}`);
      refused(() => l.rent({ wallet: a.raw, pid: 1, periodMs: 1, memoryBytes: x, amountUj: 1 }), 'E_BAD_ARGUMENT', `memoryBytes ${x}`);
      refused(() => l.erasureTax({ wallet: a.raw, pid: 1, bytes: x, amountUj: 1 }), 'E_BAD_ARGUMENT', `bytes ${x}`);
      refused(() => l.reward({ wallet: a.raw, pid: 1, milliBits: x, amountUj: 1 }), 'E_BAD_ARGUMENT', `milliBits ${x}`);
    }
    for (const p of [-1, 1.5, 2 ** 32, NaN]) refused(() => l.rent({ wallet: a.raw, pid: 1, periodMs: p, memoryBytes: 1, amountUj: 1 }), 'E_BAD_ARGUMENT', `periodMs ${p}`);
    refused(() => l.charge({ ...ch, basis: 'guessed' as 'measured' }), 'E_BAD_ARGUMENT', 'basis guessed');
    // The largest valid values are taken.
    ok(l.rent({ wallet: a.raw, pid: 2 ** 32 - 1, periodMs: 2 ** 32 - 1, memoryBytes: MAX_UJ, amountUj: 1 }), 1);
    ok(l.charge({ ...ch, pid: 0, fuel: MAX_UJ }), 1);
  });
});

describe('ledger: names that are not the format\'s (death reason, charge basis)', () => {
  /** A fresh ledger with a paid wallet: these checks may append what they should refuse. */
  function fresh() {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock);
    clock.advance(10);
    ok(l.mint());
    ok(l.grant(W[0]!.raw, 5));
    return { l, path };
  }

  it(
    'Ledger.death refuses a reason that is not a DeathReason with E_BAD_ARGUMENT, and the log still verifies',
    () => {
      const { l, path } = fresh();
      const size = l.size;
      let err: unknown;
      try {
        l.death({ wallet: W[0]!.raw, pid: 1, reason: 'bogus' as DeathReasonName, amountUj: 0 });
      } catch (e) {
        err = e;
      }
      const appended = l.size - size;
      l.close();
      const r = verifyFile(path);
      assert.equal(r.ok, true, `the stored log no longer verifies: ${r.problem?.message}`);
      assert.equal(appended, 0, 'the bad death was appended');
      assert.ok(err instanceof MaxwellError && err.code === 'E_BAD_ARGUMENT', `expected E_BAD_ARGUMENT, got ${String(err)}`);
    },
  );

  it(
    'Ledger.charge and Ledger.death refuse inherited property names (toString, constructor) as a basis or reason',
    () => {
      const { l } = fresh();
      try {
        for (const name of ['toString', 'constructor', '__proto__']) {
          const before = snapshot(l);
          throwsCode(() => l.charge({ wallet: W[0]!.raw, pid: 1, fuel: 1, energyUj: 1, priceUtPerJ: 1, basis: name as 'measured' }), 'E_BAD_ARGUMENT', `basis ${name}`);
          throwsCode(() => l.death({ wallet: W[0]!.raw, pid: 1, reason: name as DeathReasonName, amountUj: 0 }), 'E_BAD_ARGUMENT', `reason ${name}`);
          assert.deepEqual(snapshot(l), before);
        }
      } finally {
        l.store.close();
      }
    },
  );
});

// ---------- durability ----------

describe('ledger: durability by epoch', () => {
  it('sealed entries survive a reopen; entries appended but not sealed are lost, whole', () => {
    const clock = new Clock();
    const path = newPath();
    const [a, b] = [W[0]!, W[1]!];
    let l = open(path, clock);
    clock.advance(100);
    ok(l.mint(), 100_000);
    ok(l.grant(a.raw, 1000));
    const t = signed(l, a, b.raw, 1);
    ok(l.grant(b.raw, 10));
    ok(l.transfer(t));
    const ep = l.seal()!;
    assert.equal(ep.treeSize, 4);
    const sealed = snapshot(l);
    // Then more, not sealed: a charge, a grant to a new wallet, a transfer (a nonce), a burn.
    clock.advance(5);
    ok(l.charge({ wallet: a.raw, pid: 1, fuel: 1, energyUj: 5, priceUtPerJ: 1_000_000, basis: 'measured' }), 5);
    ok(l.grant(W[2]!.raw, 7));
    ok(l.transfer(signed(l, a, b.raw, 2)));
    ok(l.burn(3));
    assert.equal(l.pendingCount, 4);
    // A crash: the store's connection closes without a seal (Ledger.close would seal).
    l.store.close();

    l = open(path, clock);
    assert.deepEqual({ ...snapshot(l) }, { ...sealed, pending: 0 }, 'the reopened ledger is the sealed one');
    assert.equal(l.lastEpoch?.epoch, 0);
    assert.ok(l.lastEpoch?.root.equals(ep.root));
    assert.equal(l.balanceOf(W[2]!.raw), undefined, 'the unsealed grant is gone');
    assert.equal(l.nextNonce(a.raw), 2, 'the unsealed transfer\'s nonce is free again');
    assert.equal(verifyFile(path).ok, true);
    // And it goes on from there: the lost transfer can be made again, with the same nonce.
    ok(l.transfer(signed(l, a, b.raw, 2, 2)));
    ok(l.grant(W[2]!.raw, 7));
    l.close();
    l = open(path, clock);
    assert.equal(l.size, 6);
    assert.equal(l.lastEpoch?.epoch, 1);
    assert.equal(l.balanceOf(W[2]!.raw), 7);
    assert.equal(l.nextNonce(a.raw), 3);
    l.close();
    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.entries, 6);
    assert.equal(r.epochs, 2);
  });

  it('a store closed with nothing sealed reopens empty, with its genesis', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock);
    clock.advance(10);
    ok(l.mint());
    l.store.close();
    const again = open(path, clock);
    assert.equal(again.size, 0);
    assert.equal(again.supplyUj, 0);
    assert.equal(again.genesis.genesisTimeMs, T0);
    ok(again.mint(), 10_000);
    again.close();
    assert.equal(verifyFile(path).ok, true);
  });

  it('seals on its own: every epochMaxEntries entries, and on tick() once epochMs has passed', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock, { epochMaxEntries: 3, epochMs: 50 });
    clock.advance(10);
    ok(l.mint());
    ok(l.grant(W[0]!.raw, 1));
    const lastEpoch = () => l.lastEpoch?.epoch; // (a call: assert.equal would narrow a property to its first value)
    assert.equal(lastEpoch(), undefined);
    ok(l.grant(W[0]!.raw, 1));
    assert.equal(lastEpoch(), 0, 'the third entry sealed an epoch');
    assert.equal(l.pendingCount, 0);
    ok(l.grant(W[0]!.raw, 1));
    clock.advance(49);
    assert.equal(l.tick(), undefined, 'not yet');
    clock.advance(1);
    assert.equal(l.tick()?.epoch, 1);
    assert.equal(l.tick(), undefined, 'nothing pending');
    l.close();
    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.epochs, 2);
  });

  it('opening the ledger with another node key fails with E_KEY_INVALID and leaves the file as it was', () => {
    const clock = new Clock();
    const path = newPath();
    const l = open(path, clock);
    clock.advance(10);
    ok(l.mint());
    l.close();
    const store = new SqliteStore(path);
    try {
      throwsCode(() => Ledger.open({ store, nodeKey: OTHER_NODE, powerCapW: 1, now: clock.now }), 'E_KEY_INVALID');
    } finally {
      store.close();
    }
    const again = open(path, clock);
    assert.equal(again.size, 1);
    again.close();
    const r = verifyFile(path);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.nodeKey, NODE.raw.toString('hex'));
  });
});

// ---------- model-based ----------

type Op =
  | { op: 'advance'; ms: number }
  | { op: 'mint'; maxUj: number | undefined }
  | { op: 'grant'; w: number; amount: number }
  | { op: 'reward'; w: number; amount: number }
  | { op: 'charge'; w: number; energyUj: number; price: number }
  | { op: 'transfer'; from: number; to: number; amount: number; how: 'good' | 'replay' | 'wrongKey' | 'skipNonce' }
  | { op: 'rent' | 'erasureTax'; w: number; amount: number }
  | { op: 'death'; w: number; amount: number; reason: DeathReasonName }
  | { op: 'burn'; amount: number }
  | { op: 'seal' }
  | { op: 'setCap'; w: number };

const walletIx = fc.integer({ min: 0, max: W.length - 1 });
const amount = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 1, max: 3_000_000 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2000 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mint' as const), maxUj: fc.option(fc.integer({ min: 1, max: 2_000_000 }), { nil: undefined }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('grant' as const), w: walletIx, amount }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reward' as const), w: walletIx, amount }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('charge' as const), w: walletIx, energyUj: fc.integer({ min: 1, max: 500_000 }), price: fc.oneof(fc.integer({ min: 1, max: 3_000_000 }), fc.constant(1_000_000)) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('transfer' as const), from: walletIx, to: walletIx, amount, how: fc.constantFrom('good', 'good', 'good', 'replay', 'wrongKey', 'skipNonce') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('rent' as const, 'erasureTax' as const), w: walletIx, amount }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('death' as const), w: walletIx, amount: fc.oneof(fc.constant(0), amount), reason: fc.constantFrom<DeathReasonName>('cannot_pay_rent', 'cannot_pay_charge', 'killed', 'exited', 'trapped') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('burn' as const), amount }) },
  { weight: 2, arbitrary: fc.constant({ op: 'seal' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setCap' as const), w: fc.integer({ min: 1, max: 3 }) }) },
);

/** The reference: balances as plain numbers, rules as the docs state them. */
class Model {
  node = 0;
  bal: (number | undefined)[] = W.map(() => undefined);
  nonce: number[] = W.map(() => 0);
  minted = 0;
  burned = 0;
  size = 0;
  pending = 0;
  epochs = 0;
  capMw = 1000;
  lastMintEnd = T0;
  lastTime = T0;
  /** The last accepted transfer of each sender, to replay. */
  lastTransfer: (SignedTransfer | undefined)[] = W.map(() => undefined);
}

type Expect = { ok: number } | 'insufficient' | 'nothing' | { code: string };
/** What the random sequences exercised, over all runs: checked at the end, so the generator cannot quietly test nothing. */
const tally = new Map<string, number>();

function runOp(l: Ledger, m: Model, clock: Clock, o: Op): void {
  const append = () => {
    m.size++;
    m.pending++;
    m.lastTime = Math.max(m.lastTime, clock.t);
  };
  const check = (got: Outcome | { kind: 'nothing_accrued' } | undefined, thrown: unknown, want: Expect) => {
    const desc = `${JSON.stringify(o)}: got ${thrown ? String(thrown) : JSON.stringify(got)}, want ${JSON.stringify(want)}`;
    const key = `${o.op} ${typeof want === 'string' ? want : 'code' in want ? want.code : 'ok'}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    if (typeof want === 'object' && 'code' in want) {
      assert.ok(thrown instanceof MaxwellError && thrown.code === want.code, desc);
      return;
    }
    assert.equal(thrown, undefined, desc);
    if (want === 'insufficient') assert.equal(got?.kind, 'insufficient_funds', desc);
    else if (want === 'nothing') assert.equal(got?.kind, 'nothing_accrued', desc);
    else {
      assert.equal(got?.kind, 'ok', desc);
      assert.equal((got as { amountUj: number }).amountUj, want.ok, desc);
      assert.equal((got as { seq: number }).seq, m.size, desc);
    }
  };
  const attempt = (fn: () => Outcome | { kind: 'nothing_accrued' }, want: Expect) => {
    let got: Outcome | { kind: 'nothing_accrued' } | undefined;
    let thrown: unknown;
    try {
      got = fn();
    } catch (e) {
      thrown = e;
    }
    check(got, thrown, want);
    return got;
  };
  /** Payment by a wallet to the node (charge, rent, tax, death). */
  const walletPays = (w: number, amt: number, fn: () => Outcome) => {
    const have = m.bal[w];
    if (have === undefined) return void attempt(fn, { code: 'E_WALLET_UNKNOWN' });
    if (have < amt) return void attempt(fn, 'insufficient');
    attempt(fn, { ok: amt });
    m.bal[w] = have - amt;
    m.node += amt;
    append();
  };
  const nodePays = (w: number, amt: number, fn: () => Outcome) => {
    if (m.node < amt) return void attempt(fn, 'insufficient');
    attempt(fn, { ok: amt });
    m.node -= amt;
    m.bal[w] = (m.bal[w] ?? 0) + amt;
    append();
  };
  const time = () => Math.max(clock.t, m.lastTime);

  switch (o.op) {
    case 'advance':
      clock.advance(o.ms);
      return;
    case 'setCap':
      l.setPowerCap(o.w);
      m.capMw = o.w * 1000;
      return;
    case 'seal': {
      const ep = l.seal();
      assert.equal(ep === undefined, m.pending === 0, 'an epoch exactly when entries are pending');
      if (ep !== undefined) {
        assert.equal(ep.epoch, m.epochs);
        assert.equal(ep.treeSize, m.size);
        m.epochs++;
      }
      m.pending = 0;
      assert.equal(stateOf(l).checkInvariants(), null, 'the invariants after a seal');
      return;
    }
    case 'mint': {
      const t = time();
      const accrued = m.capMw * Math.max(0, t - m.lastMintEnd);
      let amt = Math.min(accrued, o.maxUj ?? MAX_UJ, MAX_UJ - (m.minted - m.burned));
      if (amt <= 0) return void attempt(() => l.mint(o.maxUj), 'nothing');
      let end = t;
      if (amt < accrued) {
        end = m.lastMintEnd + Math.ceil(amt / m.capMw);
        amt = Math.min(amt, m.capMw * (end - m.lastMintEnd));
      }
      attempt(() => l.mint(o.maxUj), { ok: amt });
      m.minted += amt;
      m.node += amt;
      m.lastMintEnd = end;
      m.lastTime = t;
      append();
      return;
    }
    case 'grant':
      return nodePays(o.w, o.amount, () => l.grant(W[o.w]!.raw, o.amount));
    case 'reward':
      return nodePays(o.w, o.amount, () => l.reward({ wallet: W[o.w]!.raw, pid: o.w, milliBits: o.amount, amountUj: o.amount }));
    case 'burn': {
      if (m.node < o.amount) return void attempt(() => l.burn(o.amount), 'insufficient');
      attempt(() => l.burn(o.amount), { ok: o.amount });
      m.node -= o.amount;
      m.burned += o.amount;
      append();
      return;
    }
    case 'charge': {
      const due = Number((BigInt(o.energyUj) * BigInt(o.price) + 999_999n) / 1_000_000n);
      return walletPays(o.w, due, () => l.charge({ wallet: W[o.w]!.raw, pid: 1000 + o.w, fuel: o.energyUj * 3, energyUj: o.energyUj, priceUtPerJ: o.price, basis: 'measured' }));
    }
    case 'rent':
      return walletPays(o.w, o.amount, () => l.rent({ wallet: W[o.w]!.raw, pid: o.w, periodMs: 100, memoryBytes: 65_536, amountUj: o.amount }));
    case 'erasureTax':
      return walletPays(o.w, o.amount, () => l.erasureTax({ wallet: W[o.w]!.raw, pid: o.w, bytes: o.amount, amountUj: o.amount }));
    case 'death':
      return walletPays(o.w, o.amount, () => l.death({ wallet: W[o.w]!.raw, pid: o.w, reason: o.reason, amountUj: o.amount }));
    case 'transfer': {
      const [from, to] = [W[o.from]!, W[o.to]!];
      if (o.from === o.to) return void attempt(() => l.transfer(signed(l, from, to.raw, o.amount)), { code: 'E_WALLET_INVALID' });
      if (m.bal[o.from] === undefined || m.bal[o.to] === undefined) {
        return void attempt(() => l.transfer(signed(l, from, to.raw, o.amount)), { code: 'E_WALLET_UNKNOWN' });
      }
      const next = m.nonce[o.from]! + 1;
      assert.equal(l.nextNonce(from.raw), next);
      switch (o.how) {
        case 'replay': {
          const prev = m.lastTransfer[o.from];
          if (prev !== undefined) return void attempt(() => l.transfer(prev), { code: 'E_NONCE_INVALID' });
          break; // nothing to replay yet: a good one
        }
        case 'skipNonce':
          return void attempt(() => l.transfer(signed(l, from, to.raw, o.amount, next + 1)), { code: 'E_NONCE_INVALID' });
        case 'wrongKey':
          return void attempt(() => l.transfer(signed(l, from, to.raw, o.amount, next, W[(o.from + 1) % W.length])), { code: 'E_SIGNATURE_INVALID' });
        case 'good':
          break;
      }
      const t = signed(l, from, to.raw, o.amount, next);
      if (m.bal[o.from]! < o.amount) return void attempt(() => l.transfer(t), 'insufficient');
      attempt(() => l.transfer(t), { ok: o.amount });
      m.bal[o.from]! -= o.amount;
      m.bal[o.to]! += o.amount;
      m.nonce[o.from] = next;
      m.lastTransfer[o.from] = t;
      append();
      return;
    }
  }
}

/** The ledger agrees with the model: every balance, nonce, the supply and the size. */
function agree(l: Ledger, m: Model, where: string): void {
  assert.equal(l.size, m.size, `${where}: size`);
  assert.equal(l.pendingCount, m.pending, `${where}: entries pending`);
  assert.equal(l.mintedUj, m.minted, `${where}: minted`);
  assert.equal(l.burnedUj, m.burned, `${where}: burned`);
  assert.equal(l.supplyUj, m.minted - m.burned, `${where}: supply`);
  assert.equal(l.balanceOf(l.nodeWallet), m.node, `${where}: the node's balance`);
  for (let i = 0; i < W.length; i++) {
    assert.equal(l.balanceOf(W[i]!.raw), m.bal[i], `${where}: wallet ${i}`);
    assert.equal(l.nextNonce(W[i]!.raw), m.nonce[i]! + 1, `${where}: wallet ${i}'s next nonce`);
  }
  const sum = m.node + m.bal.reduce<number>((s, b) => s + (b ?? 0), 0);
  assert.equal(sum, m.minted - m.burned, `${where}: the balances sum to minted − burned`);
}

describe('ledger: model-based, random operation sequences', () => {
  it('agrees with a reference model at every step, keeps its invariants, and reads back and verifies', (t) => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), (funded, random) => {
        // Mostly a funded start (wallets 0–2 paid, 3 never), so that the random operations find
        // money to move; sometimes none, so that they also meet an empty ledger.
        const preamble: Op[] = funded
          ? [{ op: 'advance', ms: 3000 }, { op: 'mint', maxUj: undefined }, ...[0, 1, 2].map((w): Op => ({ op: 'grant', w, amount: 600_000 }))]
          : [];
        const ops = [...preamble, ...random];
        const clock = new Clock();
        const path = newPath();
        const m = new Model();
        let l = open(path, clock, { maxPowerCapW: 3 });
        try {
          for (const [i, o] of ops.entries()) {
            runOp(l, m, clock, o);
            agree(l, m, `after op ${i} (${o.op})`);
            // The mint bound: never more than the maximum cap over the time since genesis.
            assert.ok(m.minted <= 3000 * (Math.max(clock.t, m.lastTime) - T0), 'minted above the power budget');
          }
          runOp(l, m, clock, { op: 'seal' });
          l.close();

          // Read back: the reopened ledger is the model's.
          l = open(path, clock, { maxPowerCapW: 3 });
          m.pending = 0;
          m.capMw = 1000; // the cap is the open's (powerCapW 1), not the last setPowerCap's
          agree(l, m, 'after reopen');
          assert.equal(l.lastEpoch?.epoch, m.epochs === 0 ? undefined : m.epochs - 1);
          // It goes on where it stopped: the frontier and the head state were rebuilt right.
          clock.advance(7);
          runOp(l, m, clock, { op: 'mint', maxUj: undefined });
          runOp(l, m, clock, { op: 'grant', w: 3, amount: 1 });
          agree(l, m, 'after reopen and two more operations');
          runOp(l, m, clock, { op: 'seal' });
          l.close();

          const r = verifyFile(path);
          assert.equal(r.ok, true, r.problem?.message);
          assert.equal(r.entries, m.size);
          assert.equal(r.epochs, m.epochs);
          assert.equal(r.supplyUj, m.minted - m.burned);
          assert.equal(r.mintedUj, m.minted);
          assert.equal(r.burnedUj, m.burned);
        } finally {
          try {
            l.store.close();
          } catch {
            // already closed
          }
        }
      }),
      FC,
    );
    const seen = (k: string) => tally.get(k) ?? 0;
    const report = JSON.stringify(Object.fromEntries([...tally].sort()));
    t.diagnostic(`outcomes over ${FC.numRuns} sequences: ${report}`);
    for (const k of [
      'mint ok', 'mint nothing', 'grant ok', 'grant insufficient', 'charge ok', 'charge insufficient', 'charge E_WALLET_UNKNOWN',
      'transfer ok', 'transfer insufficient', 'transfer E_NONCE_INVALID', 'transfer E_SIGNATURE_INVALID', 'transfer E_WALLET_UNKNOWN', 'transfer E_WALLET_INVALID',
      'burn ok', 'death ok', 'rent ok', 'erasureTax ok', 'reward ok',
    ]) {
      assert.ok(seen(k) >= 3, `the random sequences hardly exercised "${k}": ${report}`);
    }
  });
});
