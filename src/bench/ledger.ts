/**
 * `maxwell bench ledger`: sustained charges per second with an epoch sealed every 100 ms and
 * each epoch durable (fsync) before the next charge, then how fast `ledger verify` walks the
 * result. The baseline, measured in the same run, is the ledger without batching: one
 * signature and one durable commit per charge (what "sign every charge" costs), through the
 * same code (epochMaxEntries = 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SqliteStore } from '../ledger/sqlite-store.js';
import { execFileSync } from 'node:child_process';
import type { VerifyReport } from '../ledger/verify.js';
import { Ledger } from '../ledger/ledger.js';
import { generateKey } from '../ledger/keys.js';
import { nodeKey } from '../ledger/node-files.js';
import { runLoad } from './ledger-load.js';
import { machine, median, percentile, REPO_ROOT } from './measure.js';

export interface LedgerBench {
  suite: 'ledger';
  charges_per_s: number;
  verify_entries_per_s: number;
  epoch_commit_ms_p99: number;
  epoch_commit_ms_median: number;
  /** The baseline: one signature and one durable commit per charge. */
  unbatched_charges_per_s: number;
  batched_over_unbatched: number;
  charges: number;
  epochs: number;
  entries_per_epoch_median: number;
  verified_entries: number;
  verify_threads: number;
  seconds: number;
  db_bytes_per_entry: number;
  machine: { node: string; cpu: string; cores: number };
  date: string;
  figures: 'measured';
  goals: Record<string, { target: string; measured: number; met: boolean }>;
  setup: string;
}

export interface LedgerBenchOptions {
  seconds?: number;
  quick?: boolean;
  log?: (s: string) => void;
}

export async function benchLedger(o: LedgerBenchOptions = {}): Promise<LedgerBench> {
  const log = o.log ?? (() => {});
  const seconds = o.seconds ?? (o.quick ? 2 : 10);
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-bench-ledger-'));
  try {
    const db = join(dir, 'ledger.db');
    log(`charging for ${seconds} s (1,000 wallets, an epoch every 100 ms, each durable) `);
    const sizes: number[] = [];
    let last = 0;
    const r = await runLoad({
      db, stateDir: dir, seconds, wallets: 1000,
      onDurable: (e) => {
        sizes.push(e.treeSize - last);
        last = e.treeSize;
        if (sizes.length % 10 === 0) log('.');
      },
    });
    log('\nverifying (maxwell ledger verify, in a fresh process, as a user runs it) ');
    const v = verifyInChild(db);
    if (!v.ok) throw new Error(`the benchmark's own ledger does not verify: ${v.problem?.message}`);
    const { statSync } = await import('node:fs');
    const bytes = statSync(db).size;
    log('\nbaseline: one signature and one commit per charge ');
    const unbatched = unbatchedRate(join(dir, 'unbatched.db'), dir, o.quick ? 0.5 : 2);
    log('\n');
    const chargesPerS = r.charges / r.seconds;
    const verifyPerS = v.entries / v.seconds;
    const p99 = percentile(r.sealMs, 99);
    return {
      suite: 'ledger',
      charges_per_s: chargesPerS,
      verify_entries_per_s: verifyPerS,
      epoch_commit_ms_p99: p99,
      epoch_commit_ms_median: median(r.sealMs),
      unbatched_charges_per_s: unbatched,
      batched_over_unbatched: chargesPerS / unbatched,
      charges: r.charges,
      epochs: r.epochs,
      entries_per_epoch_median: median(sizes.slice(1)),
      verified_entries: v.entries,
      verify_threads: v.threads,
      seconds: r.seconds,
      db_bytes_per_entry: bytes / v.entries,
      machine: machine(),
      date: new Date().toISOString(),
      figures: 'measured',
      goals: {
        charges_per_s: { target: '>= 100000', measured: chargesPerS, met: chargesPerS >= 100_000 },
        verify_entries_per_s: { target: '>= 500000', measured: verifyPerS, met: verifyPerS >= 500_000 },
      },
      setup: 'one writer thread; 1,000 wallets; charges of 10 µJ at 1 token/J; SQLite WAL, synchronous=FULL; an epoch (Merkle root signed with Ed25519, one transaction) every 100 ms; charges/s counts the seals; verify = `maxwell ledger verify --json` over the whole file, in a fresh process, timed inside the command (all threads)',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `maxwell ledger verify --json` on the file; its report (timed inside the command). */
function verifyInChild(db: string): VerifyReport {
  const out = execFileSync(process.execPath, [join(REPO_ROOT, 'bin/maxwell.js'), 'ledger', 'verify', '--db', db, '--state', dirname(db), '--json'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as VerifyReport;
}

/** Charges/s with an epoch (a signature and a durable commit) per charge. */
function unbatchedRate(db: string, stateDir: string, seconds: number): number {
  let now = Date.now() - 10_000;
  const ledger = Ledger.open({ store: new SqliteStore(db), nodeKey: nodeKey(stateDir), powerCapW: 1000, epochMaxEntries: 1, now: () => now });
  now += 10_000;
  ledger.mint();
  const w = generateKey().raw;
  ledger.grant(w, 1_000_000_000);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    ledger.charge({ wallet: w, pid: 1, fuel: 1000, energyUj: 10, priceUtPerJ: 1_000_000, basis: 'estimated' });
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  ledger.close();
  return rate;
}

export function formatLedger(r: LedgerBench): string {
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    `maxwell bench ledger — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node} (all figures measured)`,
    '',
    `charges/s, every epoch durable:     ${f(r.charges_per_s)}  (${f(r.charges)} charges in ${r.seconds.toFixed(1)} s, ${r.epochs} epochs of ~${f(r.entries_per_epoch_median)} entries)`,
    `baseline, a commit per charge:      ${f(r.unbatched_charges_per_s)}  → batching is ${r.batched_over_unbatched.toFixed(0)}× faster`,
    `epoch commit (seal + sign + fsync):  median ${r.epoch_commit_ms_median.toFixed(1)} ms, p99 ${r.epoch_commit_ms_p99.toFixed(1)} ms`,
    `verify:                             ${f(r.verify_entries_per_s)} entries/s (${f(r.verified_entries)} entries, ${r.verify_threads} threads)`,
    `storage:                            ${r.db_bytes_per_entry.toFixed(0)} bytes per entry`,
    '',
    'goals:',
    ...Object.entries(r.goals).map(([k, g]) => `  ${k.padEnd(22)} ${f(g.measured)}  (goal ${g.target})  ${g.met ? 'met' : 'NOT MET'}`),
  ].join('\n');
}
