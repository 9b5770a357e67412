// The kernel's money flow (src/kernel/accounts.ts) over a real ledger: slices charged at the
// clearing price, rent, the erasure bond and tax, death; a wallet that cannot pay dooms its
// process and changes nothing; bonded funds cannot be spent; and the books balance exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Accounts } from '../../src/kernel/accounts.js';
import { DEFAULT_KERNEL_CONFIG, erasureTaxUj } from '../../src/kernel/config.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { generateKey } from '../../src/ledger/keys.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { isMaxwellError } from '../../src/errors.js';

// Rent charged every second here (the default period is 5 s), to keep the arithmetic small.
const config = { ...DEFAULT_KERNEL_CONFIG, erasureTaxUjPerByte: 0.01, rentPeriodMs: 1000 };

function setup(grantUj: number) {
  let now = 1_800_000_000_000;
  const store = new SqliteStore(':memory:');
  const ledger = Ledger.open({ store, nodeKey: generateKey(), powerCapW: 1000, now: () => now });
  now += 10_000;
  ledger.mint();
  const wallet = generateKey().raw;
  ledger.grant(wallet, grantUj);
  const accounts = new Accounts(config, ledger);
  return { ledger, store, wallet, accounts, advance: (ms: number) => (now += ms), now: () => now };
}

describe('kernel accounts', () => {
  it('charges slices at the clearing price, rounded up; a wallet that cannot pay dooms the process and pays nothing', () => {
    const { ledger, wallet, accounts, now } = setup(1_000);
    accounts.open(1, wallet, now());
    assert.equal(accounts.chargeSlice(1, 5000, 300, 1_500_000, 'estimated'), true); // 450 µJ
    assert.equal(ledger.balanceOf(wallet), 550);
    assert.equal(accounts.chargeSlice(1, 5000, 1, 1, 'estimated'), true); // 1e-6 µJ → 1 µJ
    assert.equal(ledger.balanceOf(wallet), 549);
    const size = ledger.size;
    assert.equal(accounts.chargeSlice(1, 5000, 1_000, 1_000_000, 'estimated'), false);
    assert.equal(ledger.size, size, 'nothing appended');
    assert.equal(ledger.balanceOf(wallet), 549);
    assert.equal(accounts.get(1)!.dueToDie, 'cannot_pay_charge');
    assert.equal(accounts.get(1)!.chargedUj, 451);
  });

  it('rent: base and memory, per period, rounded up; broke processes are reported', () => {
    const { ledger, wallet, accounts, advance, now } = setup(1_000_000);
    accounts.open(1, wallet, now());
    assert.equal(accounts.grow(1, 2 ** 20), true);
    advance(1000);
    assert.deepEqual(accounts.accrueRent(now()), []);
    assert.equal(accounts.get(1)!.rentUj, config.baseRentUjPerS + config.memoryRentUjPerMiBS);
    // A second wallet with too little for a second of its rent.
    const poor = generateKey().raw;
    ledger.grant(poor, 5);
    accounts.open(2, poor, now());
    advance(1000);
    assert.deepEqual(accounts.accrueRent(now()), [2]);
    assert.equal(accounts.get(2)!.dueToDie, 'cannot_pay_rent');
    assert.equal(ledger.balanceOf(poor), 5, 'nothing was taken');
  });

  it('memory pays rent for the time it was held: a grow just before the period ends costs little', () => {
    const { wallet, accounts, advance, now } = setup(100_000_000);
    accounts.open(1, wallet, now());
    advance(999);
    assert.equal(accounts.grow(1, 2 ** 30, now()), true); // 1 GiB, held for the last 1 ms
    advance(1);
    accounts.accrueRent(now());
    // 10 µJ for the second, and 400 µJ/(MiB·s) × 1024 MiB × 1 ms = 409.6 µJ: 420 µJ, not 409,610.
    assert.equal(accounts.get(1)!.rentUj, Math.ceil(config.baseRentUjPerS + (config.memoryRentUjPerMiBS * 1024) / 1000));
    advance(1000);
    accounts.accrueRent(now());
    assert.equal(accounts.get(1)!.rentUj - 420, config.baseRentUjPerS + config.memoryRentUjPerMiBS * 1024, 'the next period pays for all of it');
  });

  it('rent is charged once per period (not rounded up every tick), and the rest at close', () => {
    const { wallet, accounts, advance, now } = setup(1_000_000);
    accounts.open(1, wallet, now());
    // 2.5 s of 5 ms ticks with no memory: 10 µJ/s of base rent is 25 µJ, not 500 (1 µJ per tick).
    for (let t = 0; t < 500; t++) {
      advance(5);
      accounts.accrueRent(now());
    }
    assert.equal(accounts.get(1)!.rentUj, 20, 'two whole seconds charged so far');
    accounts.close(1, 'exited', now());
    assert.equal(accounts.get(1)!.rentUj, 25, 'the last half second at close');
  });

  it('growing posts an erasure bond that no other payment can spend; erasing and dying pay the tax from it', () => {
    const { ledger, wallet, accounts, now } = setup(10_000);
    accounts.open(1, wallet, now());
    const bytes = 65_536 * 10;
    assert.equal(accounts.grow(1, bytes), true);
    const bond = erasureTaxUj(config, bytes); // 6,554 µJ
    assert.equal(accounts.availableUj(wallet), 10_000 - bond);
    // The bond is not the slices': a charge beyond the free balance is refused.
    assert.equal(accounts.chargeSlice(1, 1, 4_000, 1_000_000, 'estimated'), false);
    assert.equal(ledger.balanceOf(wallet), 10_000);
    // A second process of the same wallet cannot grow beyond what is left.
    accounts.open(2, wallet, now());
    assert.equal(accounts.grow(2, 65_536 * 10), false);
    // Erase half: the tax on it comes out of the bond.
    accounts.erase(1, bytes / 2);
    assert.equal(ledger.balanceOf(wallet), 10_000 - (bond - erasureTaxUj(config, bytes / 2)));
    assert.throws(() => accounts.erase(1, bytes), (e) => isMaxwellError(e, 'E_BAD_ARGUMENT'));
    // Death erases the rest and is recorded with its reason.
    const a = accounts.close(1, 'killed');
    assert.equal(a.memoryBytes, 0);
    assert.equal(a.bondUj, 0);
    assert.equal(a.taxUj, bond);
    assert.equal(a.dueToDie, 'cannot_pay_charge', 'the death records why it had to die');
    assert.equal(ledger.balanceOf(wallet), 10_000 - bond);
    assert.equal(accounts.availableUj(wallet), 10_000 - bond);
    assert.equal(accounts.close(1, 'exited'), a, 'closing twice changes nothing');
  });

  it('the books balance: every µJ a wallet lost is a charge, a rent or a tax, and the ledger verifies', () => {
    const { ledger, store, wallet, accounts, advance, now } = setup(5_000_000);
    for (let pid = 1; pid <= 5; pid++) accounts.open(pid, wallet, now());
    for (let round = 0; round < 200; round++) {
      advance(5);
      const pid = 1 + (round % 5);
      accounts.chargeSlice(pid, 1000, 37 + round, 1_000_000 + round * 1000, 'estimated');
      if (round % 7 === 0) accounts.grow(pid, 4096 * (1 + (round % 3)));
      if (round % 11 === 0 && accounts.get(pid)!.memoryBytes > 100) accounts.erase(pid, 100);
      if (round % 20 === 0) accounts.accrueRent(now());
    }
    for (let pid = 1; pid <= 5; pid++) accounts.close(pid, 'exited');
    let paid = 0;
    for (let pid = 1; pid <= 5; pid++) {
      const a = accounts.get(pid)!;
      paid += a.chargedUj + a.rentUj + a.taxUj;
    }
    assert.equal(5_000_000 - ledger.balanceOf(wallet)!, paid);
    ledger.seal();
    const v = verifyLedger(store);
    assert.ok(v.ok, v.problem?.message);
  });

  it('refuses unknown wallets and processes', () => {
    const { accounts, now } = setup(1);
    assert.throws(() => accounts.open(1, generateKey().raw, now()), (e) => isMaxwellError(e, 'E_WALLET_UNKNOWN'));
    assert.throws(() => accounts.chargeSlice(9, 1, 1, 1, 'estimated'), (e) => isMaxwellError(e, 'E_NO_SUCH_PROCESS'));
  });
});
