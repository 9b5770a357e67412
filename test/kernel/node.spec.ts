// The node loop (src/kernel/node.ts) end to end with real sample agents on a slotted pool and a
// real ledger: an unfunded process never runs; a funded looper runs until its money is gone,
// dies of apoptosis, and its death is in the ledger; an agent that finishes pays for what it
// used; the books balance and the ledger verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../../src/runtime/module.js';
import { WorkerPool } from '../../src/runtime/pool.js';
import { KernelNode } from '../../src/kernel/node.js';
import { DEFAULT_KERNEL_CONFIG } from '../../src/kernel/config.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { generateKey } from '../../src/ledger/keys.js';
import { decodeEntry } from '../../src/ledger/format.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { nominalCalibration } from '../../src/energy/calibration.js';
import { seededRandom } from '../../src/market/random.js';

const AGENTS = fileURLToPath(new URL('../../../agents/build/', import.meta.url));
const load = async (name: string) => compileModule(new Uint8Array(await readFile(`${AGENTS}${name}.wasm`)));

describe('kernel node', () => {
  it('sells slots to those who pay: the unfunded never run, the broke die, the books balance', async () => {
    const cal = nominalCalibration();
    const fuelPerMs = 100_000; // slots of 500,000 fuel: many slots per run, fast
    let node!: KernelNode;
    const pool = new WorkerPool({ workers: 1, slotted: true, sliceFuel: 200_000, jPerFuel: cal.jPerFuel, onSlotEnd: (e) => node.onSlotEnd(e) });
    await pool.start();
    const store = new SqliteStore(':memory:');
    // The ledger's clock jumps a minute ahead after its genesis, so the treasury has accrued 60 kJ.
    let shiftMs = 0;
    const ledger = Ledger.open({ store, nodeKey: generateKey(), powerCapW: 1000, now: () => Date.now() + shiftMs });
    shiftMs = 60_000;
    ledger.mint();
    node = new KernelNode({ pool, ledger, config: DEFAULT_KERNEL_CONFIG, jPerFuel: cal.jPerFuel, fuelPerMs, random: seededRandom(3) });
    try {
      const looper = await load('looper');
      const miner = await load('miner');
      const rich = generateKey().raw;
      const poor = generateKey().raw;
      const worker = generateKey().raw;
      // The looper can afford ~5·10^7 fuel (0.003 J at ~6e-11 J/fuel), the miner plenty; the poor
      // wallet has 70 µJ: enough for the erasure bond of the looper's one page (66 µJ), not for a slot.
      const looperUj = Math.round(5e7 * cal.jPerFuel * 1e6);
      ledger.grant(rich, looperUj);
      ledger.grant(worker, 10_000_000);
      ledger.grant(poor, 70);
      const destitute = generateKey().raw;
      ledger.grant(destitute, 1);
      node.start();
      const l = await node.spawn(looper, { agent: 'looper', wallet: rich, bid: 2, memoryLimitPages: 16 });
      const p = await node.spawn(looper, { agent: 'looper', wallet: poor, bid: 5, memoryLimitPages: 16 });
      // A wallet that cannot post the bond for the module's memory is refused at the door.
      await assert.rejects(node.spawn(looper, { agent: 'looper', wallet: destitute, bid: 5, memoryLimitPages: 16 }), { code: 'E_AMOUNT_INVALID' });
      const m = await node.spawn(miner, { agent: 'miner', wallet: worker, bid: 1, memoryLimitPages: 64, args: ['miner', '8'] });
      const [fl, fp, fm] = await Promise.all([l.done, p.done, m.done]);
      node.stop();

      // The unfunded process never ran, not even its death notice (a program that never started
      // has no state to save).
      assert.equal(fp.fuelUsed, 0, 'the unfunded process never ran');
      assert.equal(fp.stdout, '');
      assert.equal(fp.exit.reason, 'apoptosis');
      assert.match(fp.exit.message, /apoptosis: cannot pay/);
      assert.equal(fl.exit.reason, 'apoptosis');
      assert.match(fl.exit.message, /apoptosis/);
      const iterations = Number(/looper: death notice after (\d+) iterations/.exec(fl.stdout)?.[1]);
      assert.ok(iterations > 1e5, `the funded looper looped and heard its death notice: ${fl.stdout}`);
      assert.ok(fl.fuelUsed > 1e7, `the funded looper ran (${fl.fuelUsed} fuel)`);
      assert.equal(fm.exit.reason, 'exit', fm.exit.message);
      assert.match(fm.stdout, /miner: nonce=/);

      // Each process paid exactly for its fuel (rounded up per slot), from its own wallet.
      for (const [f, wallet, granted] of [[fl, rich, looperUj], [fm, worker, 10_000_000]] as const) {
        const a = node.accounts.get(f.pid)!;
        assert.ok(a.dead);
        const energyUj = f.fuelUsed * cal.jPerFuel * 1e6;
        assert.ok(a.energyUj >= energyUj && a.energyUj <= energyUj + node.slotsSold, `energy ${a.energyUj} µJ for ${energyUj}`);
        assert.equal(granted - ledger.balanceOf(wallet)!, a.chargedUj + a.rentUj + a.taxUj, 'every µJ the wallet lost is accounted for');
        assert.ok(ledger.balanceOf(wallet)! >= 0);
      }
      // The deaths are in the ledger, with their reasons.
      ledger.seal();
      const deaths = [...store.entries(0, ledger.size)].map((e) => decodeEntry(e.bytes)).filter((e) => e.kind === 'death');
      const reasonOf = (pid: number) => {
        const d = deaths.find((x) => x.kind === 'death' && x.pid === pid);
        return d?.kind === 'death' ? d.reason : undefined;
      };
      assert.equal(reasonOf(p.pid), 'cannot_pay_charge');
      assert.equal(reasonOf(l.pid), 'cannot_pay_charge');
      assert.equal(reasonOf(m.pid), 'exited');
      const v = verifyLedger(store);
      assert.ok(v.ok, v.problem?.message);
    } finally {
      node.stop();
      await pool.stop();
    }
  });
});
