/**
 * A ledger under load: charges as fast as one thread can make them, with an epoch sealed every
 * `epochMs`, each durable before the next charge. Used by `maxwell bench ledger` and by the
 * crash tests, which run it as a child process (`node dist/src/bench/ledger-load.js --db PATH
 * --state DIR`) and kill it with SIGKILL at random moments: it prints one JSON line per durable
 * epoch ({"epoch", "tree_size", "root"}), written only after the commit returned.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../ledger/keys.js';
import { hex } from '../ledger/format.js';
import { Ledger } from '../ledger/ledger.js';
import { nodeKey } from '../ledger/node-files.js';
import { SqliteStore } from '../ledger/sqlite-store.js';
import type { EpochRecord } from '../ledger/store.js';

export interface LoadOptions {
  db: string;
  stateDir: string;
  seconds: number;
  wallets?: number;
  epochMs?: number;
  /** At most this many charges per epoch (default: as many as fit); the crash tests keep their ledgers small. */
  chargesPerEpoch?: number;
  /** Called as the load gets going (opened, funded), for diagnostics. */
  onStage?: (stage: string) => void;
  /** Called after each durable epoch, with how long its seal took (ms). */
  onDurable?: (e: EpochRecord, sealMs: number) => void;
}

export interface LoadResult {
  charges: number;
  seconds: number;
  epochs: number;
  sealMs: number[];
  entriesBefore: number;
}

/** The power cap the load runs under: enough accrues in 100 ms to fund every wallet. */
const LOAD_POWER_CAP_W = 100_000;
const GRANT_UJ = 1_000_000_000; // 1,000 J per wallet: 10⁸ charges of 10 µJ

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const ledger = Ledger.open({ store: new SqliteStore(o.db), nodeKey: nodeKey(o.stateDir), powerCapW: LOAD_POWER_CAP_W, epochMs: o.epochMs ?? 100 });
  const entriesBefore = ledger.size;
  o.onStage?.(`opened (${entriesBefore} entries)`);
  const n = o.wallets ?? 1000;
  const wallets = Array.from({ length: n }, () => generateKey().raw);
  // Fund the wallets: mint what the cap accrues (waiting for it if the ledger is new), then grant.
  for (let i = 0; i < n; ) {
    ledger.mint();
    while (i < n && (ledger.balanceOf(ledger.nodeWallet) ?? 0) >= GRANT_UJ) ledger.grant(wallets[i++]!, GRANT_UJ);
    if (i < n) await sleep(20);
  }
  o.onStage?.('funded');
  const seal = () => {
    const t = performance.now();
    const e = ledger.seal();
    const ms = performance.now() - t;
    if (e !== undefined) o.onDurable?.(e, ms);
    return ms;
  };
  seal();
  const sealMs: number[] = [];
  let charges = 0;
  let epochs = 0;
  const epochMs = o.epochMs ?? 100;
  const t0 = performance.now();
  let lastSeal = t0;
  const end = t0 + o.seconds * 1000;
  const cap = o.chargesPerEpoch ?? Infinity;
  let inEpoch = 0;
  for (;;) {
    if (inEpoch >= cap) await sleep(Math.max(1, epochMs - (performance.now() - lastSeal)));
    for (let i = 0; i < 1024 && inEpoch < cap; i++, inEpoch++) {
      const r = ledger.charge({ wallet: wallets[charges % n]!, pid: charges % n, fuel: 1000, energyUj: 10, priceUtPerJ: 1_000_000, basis: 'estimated' });
      if (r.kind !== 'ok') throw new Error(`load: a charge failed: ${r.kind}`);
      charges++;
    }
    const now = performance.now();
    if (now - lastSeal >= epochMs) {
      sealMs.push(seal());
      epochs++;
      inEpoch = 0;
      lastSeal = performance.now();
      if (lastSeal >= end) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  ledger.close();
  return { charges, seconds, epochs, sealMs, entriesBefore };
}

// As a child process (the crash tests).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { db: { type: 'string' }, state: { type: 'string' }, seconds: { type: 'string', default: '60' }, 'charges-per-epoch': { type: 'string' } } });
  if (values.db === undefined || values.state === undefined) {
    console.error('usage: node ledger-load.js --db PATH --state DIR [--seconds N] [--charges-per-epoch N]');
    process.exit(64);
  }
  await runLoad({
    db: values.db,
    stateDir: values.state,
    seconds: Number(values.seconds),
    wallets: 100,
    ...(values['charges-per-epoch'] ? { chargesPerEpoch: Number(values['charges-per-epoch']) } : {}),
    onStage: (stage) => process.stderr.write(`ledger-load: ${stage} at +${Math.round(performance.now())} ms\n`),
    onDurable: (e) => process.stdout.write(`${JSON.stringify({ epoch: e.epoch, tree_size: e.treeSize, root: hex(e.root) })}\n`),
  });
}
