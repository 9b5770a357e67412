// `maxwell ps`'s table (src/cli/ps.ts): the columns, and the proof columns only where a process
// was given queries (what it earned, its verified bits per joule).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { table } from '../../src/cli/ps.js';
import type { ApiProcess } from '../../src/api/client.js';

const base: ApiProcess = {
  pid: 1, agent: 'looper', wallet: '00'.repeat(32), state: 'running', bid: 2, balance_j: 1.5, energy_j: 0.25, energy_source: 'estimated',
  charged_j: 0.5, rent_j: 0.000_1, tax_j: 0.000_066, memory_bytes: 65_536, fuel: 1e6, started_ms: 0, exit: null,
};

it('ps prints the money columns, and EARNED J and BITS/J only when some process answers queries', () => {
  const plain = table([base]).split('\n');
  assert.match(plain[0]!, /^PID\s+AGENT\s+STATE\s+BID\s+BALANCE J\s+ENERGY J \(est\.\)\s+RENT J\s+TAX J\s+EXIT$/);
  assert.match(plain[1]!, /^\s*1\s+looper\s+running\s+2\s+1\.500000\s+0\.250000\s+0\.000100\s+0\.000066\s*$/);
  const withProof = table([
    { ...base, pid: 2, agent: 'infer', state: 'dead', exit: { reason: 'exit', code: 0, error_code: null, message: '' }, proof: { claims: 3, accepted: 3, rejected: 0, samples: 27, bits: 36.5, bits_per_j: 146_000.4, reward_j: 0.036_5, last_rejection: null, soundness_bits: 79 } },
    base,
  ]).split('\n');
  assert.match(withProof[0]!, /TAX J\s+EARNED J\s+BITS\/J \(est\.\)\s+EXIT$/);
  assert.match(withProof[1]!, /infer\s+dead\s+.*0\.036500\s+146000\s+exit 0$/);
  assert.match(withProof[2]!, /looper\s+running\s+.*0\.000066\s*$/, 'no figures for a process without queries');
});
