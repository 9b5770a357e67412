// `maxwell sim` (src/cli/sim.ts): bad flags exit 64 (EX_USAGE) with a message that names the
// flag; a small run prints the benchmark's JSON shape with one policy.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxwell } from '../cli-helper.js';

const bad: [string[], RegExp][] = [
  [['--policy', 'cheapest'], /--policy must be one of maxwell, no-gossip, fair-share, round-robin, not 'cheapest'/],
  [['--nodes', '0'], /--nodes must be a positive number/],
  [['--nodes', '10', '--racks', '3'], /--nodes \(10\) must be a multiple of --racks \(3\)/],
  [['--duration', 'an hour'], /--duration is a time such as 3600, 90s, 30m or 1h/],
  [['--loss', '150%'], /--loss is a fraction in \[0, 1\)/],
  [['--seed', '1.5'], /--seed must be an integer in \[0, 2\^32\), not '1.5'/],
  [['--frobnicate'], /Unknown option '--frobnicate'/],
  [['extra'], /unexpected argument 'extra'/],
];

for (const [args, message] of bad) {
  it(`maxwell sim ${args.join(' ')} exits 64`, async () => {
    const r = await maxwell(['sim', ...args]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /^maxwell sim: E_BAD_ARGUMENT: /);
    assert.match(r.stderr, message);
  });
}

it('maxwell sim --json prints one policy in the benchmark\'s shape', async () => {
  const r = await maxwell(['sim', '--nodes', '20', '--racks', '4', '--duration', '60s', '--policy', 'fair-share', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  const policies = s.policies as Record<string, unknown>[];
  assert.equal(policies.length, 1);
  for (const k of ['name', 'peak_temp_c', 'throttled_node_s', 'ig_per_j', 'throughput']) assert.ok(k in policies[0]!, k);
  for (const k of ['alarm_p99_s', 'bandwidth_bytes_per_node_s', 'false_dead_per_node_h', 'wall_s']) assert.ok(k in s, k);
  assert.equal(policies[0]!.name, 'fair-share');
  assert.equal(s.alarm_p99_s, null, 'fair-share does not gossip');
});

it('maxwell sim past the gossip limit exits 64 with E_SIM_LIMIT, before any work', async () => {
  const r = await maxwell(['sim', '--nodes', '4000', '--racks', '40']);
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, /^maxwell sim: E_SIM_LIMIT: maxwell gossips among all nodes, and at most 2000 fit/);
});

it('maxwell sim --out: two processes, one seed, the same summary.json and plots, byte for byte', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'maxwell-sim-'));
  try {
    const args = ['sim', '--nodes', '40', '--racks', '4', '--duration', '3m', '--policy', 'maxwell', '--seed', '11'];
    const [a, b] = await Promise.all([maxwell([...args, '--out', join(dir, 'a')]), maxwell([...args, '--out', join(dir, 'b')])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const files = (await readdir(join(dir, 'a'))).sort();
    assert.deepEqual(files, (await readdir(join(dir, 'b'))).sort());
    for (const f of ['summary.json', 'temperature.svg', 'prices.svg', 'timing.json']) assert.ok(files.includes(f), f);
    for (const f of files) {
      if (f === 'timing.json') continue;
      assert.ok((await readFile(join(dir, 'a', f))).equals(await readFile(join(dir, 'b', f))), `${f} differs between the two runs`);
    }
    const summary = JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(!('wall_s' in summary) && !('timing' in summary));
    assert.ok((summary.bandwidth_bytes_per_node_s as number) > 0, 'it gossiped');
    const timing = JSON.parse(await readFile(join(dir, 'a', 'timing.json'), 'utf8')) as Record<string, unknown>;
    assert.ok((timing.wall_s as number) > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('maxwell bench sim --plots DIR writes every policy\'s plots; --plots is refused on another suite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'maxwell-bench-sim-'));
  try {
    const r = await maxwell(['bench', 'sim', '--nodes', '20', '--seconds', '30', '--json', '--plots', dir]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { policies: { name: string }[]; goals: Record<string, unknown>; scenario: string; cooling_failures: { scenario: string; policies: unknown[] } };
    assert.equal(result.scenario, 'uniform room');
    assert.equal(result.cooling_failures.scenario, 'cooling failures');
    assert.equal(result.cooling_failures.policies.length, 4);
    assert.deepEqual(result.policies.map((p) => p.name), ['maxwell', 'no-gossip', 'fair-share', 'round-robin']);
    for (const scenario of ['uniform-room', 'cooling-failures']) for (const p of result.policies) {
      const files = await readdir(join(dir, scenario, p.name));
      for (const f of ['temperature.svg', 'prices.svg', 'power.svg', 'throughput.svg', 'ig-per-joule.svg', 'throttled.svg']) assert.ok(files.includes(f), `${scenario}/${p.name}/${f}`);
    }
    const wrong = await maxwell(['bench', 'ledger', '--plots', dir]);
    assert.equal(wrong.code, 64, wrong.stderr);
    assert.match(wrong.stderr, /--plots are options of the sim suite only/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('maxwell bench sim and maxwell sim run a one-rack room (41 nodes); wall time is judged only at 1,000 × 1 h', async () => {
  const r = await maxwell(['bench', 'sim', '--nodes', '41', '--seconds', '20', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { racks: number; goals: Record<string, { met: boolean | null; target: string }> };
  assert.equal(result.racks, 1);
  assert.equal(result.goals.wall_s!.met, null);
  assert.match(result.goals.wall_s!.target, /judged only for 1,000 nodes × 1 h; this run is 41 × 20 s/);
  const s = await maxwell(['sim', '--nodes', '41', '--duration', '20', '--json']);
  assert.equal(s.code, 0, s.stderr);
});
