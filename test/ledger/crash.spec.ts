// Crash safety: a writer under load (src/bench/ledger-load.ts, an epoch every 100 ms, 3,000
// charges each to keep the file small enough to verify 20 times) is killed
// with SIGKILL at random moments, 20 times in a row on the same ledger. After each kill:
// `verifyLedger` passes (every stored epoch is whole: an uncommitted tail is fully absent, never
// half there), no epoch the writer reported durable is lost or changed (same tree size, same
// signed root), the stored balances are the replayed ones, and the next writer resumes from
// the last durable epoch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { hex } from '../../src/ledger/format.js';
import { seededRandom } from '../../src/market/random.js';

const LOAD = fileURLToPath(new URL('../../src/bench/ledger-load.js', import.meta.url));
const KILLS = 20;

interface Durable {
  epoch: number;
  tree_size: number;
  root: string;
}

/** Runs the writer until `killAfterMs` after its first durable epoch, then SIGKILLs it; returns the epochs it reported durable. */
function runAndKill(db: string, state: string, killAfterMs: number): Promise<{ durable: Durable[]; stderr: string; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, '--db', db, '--state', state, '--seconds', '60', '--charges-per-epoch', '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const durable: Durable[] = [];
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    // A writer that reports nothing for a minute is killed and the run fails, with what it said.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const t0 = Date.now();
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        durable.push(JSON.parse(buf.slice(0, nl)) as Durable);
        buf = buf.slice(nl + 1);
        timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      resolve({ durable, stderr: `${stderr}[ran ${Date.now() - t0} ms; stdout tail: ${JSON.stringify(buf.slice(-200))}]`, signal });
    });
  });
}

describe('the ledger under kill -9', () => {
  it(`${KILLS} kills at random moments under load: nothing durable is lost, the tail is whole or absent`, { timeout: 600_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxwell-crash-'));
    const db = join(dir, 'ledger.db');
    const random = seededRandom(0xc4a5);
    const seen = new Map<number, Durable>();
    let lastEntries = 0;
    try {
      for (let k = 0; k < KILLS; k++) {
        // 0–700 ms after the first durable epoch: before, during and after commits (each ~10–30 ms).
        const killAfterMs = Math.floor(random() * 700);
        const r = await runAndKill(db, dir, killAfterMs);
        assert.equal(r.signal, 'SIGKILL', `run ${k}: the writer exited by itself: ${r.stderr}`);
        assert.ok(r.durable.length > 0, `run ${k}: no epoch became durable: ${r.stderr}`);
        for (const d of r.durable) seen.set(d.epoch, d);

        const store = new SqliteStore(db, { readonly: true });
        try {
          const v = verifyLedger(store);
          assert.ok(v.ok, `after kill ${k} (${killAfterMs} ms): ${v.problem?.message}`);
          assert.ok(v.entries >= lastEntries, 'the log never shrinks');
          lastEntries = v.entries;
          // Every epoch any writer reported durable is still there, identical.
          for (const d of seen.values()) {
            const e = store.epoch(d.epoch);
            assert.ok(e !== undefined, `durable epoch ${d.epoch} was lost`);
            assert.equal(e.treeSize, d.tree_size, `epoch ${d.epoch} changed size`);
            assert.equal(hex(e.root), d.root, `epoch ${d.epoch} changed root`);
          }
          const last = store.lastEpoch()!;
          assert.ok(last.epoch >= Math.max(...r.durable.map((d) => d.epoch)), 'the last reported epoch is stored');
          t.diagnostic(`kill ${k} at +${killAfterMs} ms: ${r.durable.length} epochs reported durable, ${last.epoch + 1} stored, ${v.entries} entries, verify ok`);
        } finally {
          store.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
