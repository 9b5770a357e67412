/**
 * The ledger's command line, end to end: `maxwell wallet`, `maxwell ledger` and `maxwell receipt`
 * spawned as a user runs them, on one temporary state directory. The steps build on each other
 * (keys, then a ledger, then grants, a transfer, a bill, and last a corruption), so they run in
 * order.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/maxwell.js');
const exec = promisify(execFile);

interface Result { code: number; stdout: string; stderr: string }

async function maxwell(args: string[]): Promise<Result> {
  try {
    const r = await exec(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs and expects exit status `code`, showing the output if not. */
async function expectCode(code: number, args: string[]): Promise<Result> {
  const r = await maxwell(args);
  assert.equal(r.code, code, `maxwell ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('maxwell wallet, ledger and receipt', () => {
  let dir: string;
  let S: string[];
  const keys: Record<string, string> = {};
  let nodeKey = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mw-ledger-'));
    S = ['--state', join(dir, 'state'), '--power-cap', '1000'];
  });
  const st = () => S.slice(0, 2);

  it('prints a full usage on --help for each command', async () => {
    for (const [cmd, re] of [['wallet', /usage: maxwell wallet new NAME/], ['ledger', /usage: maxwell ledger verify/], ['receipt', /usage: maxwell receipt get WALLET/]] as const) {
      const r = await expectCode(0, [cmd, '--help']);
      assert.match(r.stdout, re);
    }
    const top = await expectCode(0, ['--help']);
    assert.match(top.stdout, /wallet .*\n.*ledger .*\n.*receipt /);
    await expectCode(64, ['wallet', 'frobnicate', ...st()]);
    await expectCode(64, ['ledger', 'tail', '--key', 'x']);
  });

  it('makes wallet keys, and refuses to overwrite one', async () => {
    for (const name of ['alice', 'bob']) {
      const r = await expectCode(0, ['wallet', 'new', name, ...st(), '--json']);
      const j = JSON.parse(r.stdout);
      assert.match(j.wallet, /^[0-9a-f]{64}$/);
      keys[name] = j.wallet;
    }
    const again = await expectCode(64, ['wallet', 'new', 'alice', ...st()]);
    assert.match(again.stderr, /E_BAD_ARGUMENT: .*alice\.pem already exists/);
  });

  it('grants from what the power cap accrued since genesis, durably', async () => {
    // The first open creates the ledger (its genesis): the treasury accrues from then on.
    const first = await expectCode(0, ['wallet', 'balance', 'alice', ...S]);
    assert.match(first.stdout, /0\.000000 J \(0 µJ\), never paid/);
    await sleep(1100); // 1000 W for 1.1 s: about 1100 J in the treasury
    const g = await expectCode(0, ['wallet', 'grant', 'alice', '0.5', ...S]);
    assert.match(g.stdout, /minted \d+\.\d{6} J into the treasury/);
    assert.match(g.stdout, /granted 0\.500000 J to alice/);
    assert.match(g.stdout, /durable in epoch 0/);
    await expectCode(0, ['wallet', 'grant', 'bob', '0.25', ...S]);
    const b = await expectCode(0, ['wallet', 'balance', 'alice', ...S]);
    assert.match(b.stdout, /alice \([0-9a-f]{12}…\): 0\.500000 J \(500000 µJ\)/);
    assert.match(b.stdout, /durable log/);
    const more = await expectCode(1, ['wallet', 'grant', 'alice', '9000000', ...S]);
    assert.match(more.stdout, /insufficient funds: the treasury has \d+\.\d{6} J.*accrues 1000\.000000 J\/s/);
  });

  it('transfers between named wallets, signed with the sender key', async () => {
    const t = await expectCode(0, ['wallet', 'transfer', '--from', 'alice', '--to', 'bob', '0.2', ...S, '--json']);
    const j = JSON.parse(t.stdout);
    assert.equal(j.nonce, 1);
    assert.equal(j.from_balance_uj, 300_000);
    assert.equal(j.to_balance_uj, 450_000);
    const bob = JSON.parse((await expectCode(0, ['wallet', 'balance', keys.bob!, ...S, '--json'])).stdout);
    assert.equal(bob.balance_uj, 450_000);
    // A second transfer takes the next nonce (a replay of the first would be refused by the ledger).
    const t2 = JSON.parse((await expectCode(0, ['wallet', 'transfer', '--from', 'bob', '--to', 'alice', '0.000001', ...S, '--json'])).stdout);
    assert.equal(t2.nonce, 1);
    const list = await expectCode(0, ['wallet', 'list', ...S]);
    assert.match(list.stdout, new RegExp(`alice +${keys.alice} +0\\.300001 J`));
    assert.match(list.stdout, new RegExp(`bob +${keys.bob} +0\\.449999 J`));
    assert.match(list.stdout, /treasury +[0-9a-f]{64}/);
  });

  it('refuses bad amounts (65, E_AMOUNT_INVALID) and unknown wallets with a clear message', async () => {
    for (const bad of ['1.2345678', '-1', 'abc', '0']) {
      const r = await expectCode(65, ['wallet', 'grant', 'alice', bad, ...S]);
      assert.match(r.stderr, /^maxwell wallet: E_AMOUNT_INVALID: /, bad);
    }
    const r = await expectCode(65, ['wallet', 'transfer', '--from', 'alice', '--to', 'bob', '-5', ...S]);
    assert.match(r.stderr, /E_AMOUNT_INVALID/);
    const carol = await expectCode(65, ['wallet', 'balance', 'carol', ...S]);
    assert.match(carol.stderr, /E_WALLET_INVALID: 'carol' is neither a wallet key in hex \(64 digits\) nor a wallet in .* \(alice, bob\)/);
    const noKey = await expectCode(66, ['wallet', 'transfer', '--from', 'carol', '--to', 'bob', '1', ...S]);
    assert.match(noKey.stderr, /E_KEY_INVALID: no wallet key .*carol\.pem/);
    // A key the ledger has never paid cannot receive a transfer.
    await expectCode(0, ['wallet', 'new', 'dave', ...st()]);
    const unknown = await expectCode(65, ['wallet', 'transfer', '--from', 'alice', '--to', 'dave', '0.1', ...S]);
    assert.match(unknown.stderr, /E_WALLET_UNKNOWN/);
  });

  it('verifies the ledger and shows its tail', async () => {
    const v = await expectCode(0, ['ledger', 'verify', ...st(), '--json']);
    const j = JSON.parse(v.stdout);
    assert.equal(j.ok, true);
    // mint, grant (alice); mint, grant (bob); [mint]; transfer; transfer
    assert.ok(j.entries >= 6, `entries ${j.entries}`);
    assert.equal(j.supplyUj, j.mintedUj);
    assert.match(j.nodeKey, /^[0-9a-f]{64}$/);
    nodeKey = j.nodeKey;
    const text = await expectCode(0, ['ledger', 'verify', ...st()]);
    assert.match(text.stdout, /: ok\n/);
    assert.match(text.stdout, /entries\/s/);

    const t = await expectCode(0, ['ledger', 'tail', '-n', '3', ...st()]);
    const lines = t.stdout.trim().split('\n');
    assert.equal(lines.length, 4, t.stdout);
    assert.match(lines[1]!, /transfer +alice → bob +0\.200000 J +nonce 1/);
    assert.match(lines[2]!, /transfer +bob → alice +0\.000001 J +nonce 1/);
    assert.match(lines[3]!, /^epoch \d+: tree size \d+, root [0-9a-f]{64}/);
    const tj = JSON.parse((await expectCode(0, ['ledger', 'tail', ...st(), '--json'])).stdout);
    assert.equal(tj.entries.length, j.entries);
    assert.equal(tj.entries[0].kind, 'mint');
    assert.equal(tj.head.tree_size, j.entries);
    await expectCode(64, ['ledger', 'tail', '-n', '10001', ...st()]);
  });

  it('gets a receipt that verifies with the node key alone, and not once edited or with another key', async () => {
    const file = join(dir, 'alice.json');
    const g = await expectCode(0, ['receipt', 'get', 'alice', ...st(), '--out', file]);
    assert.match(g.stderr, /receipt: 3 items .*granted 0\.500000 J, transferred in 0\.000001 J, transferred out 0\.200000 J/);
    const v = await expectCode(0, ['receipt', 'verify', file, '--key', nodeKey]);
    assert.match(v.stdout, /^valid: 3 entries, charged 0\.000000 J for 0\.000000 J of energy \(fuel 0\)/);
    // The node's key file works too (a PEM private key: its public half is used).
    await expectCode(0, ['receipt', 'verify', file, '--key', join(dir, 'state', 'node-key.pem')]);

    const r = JSON.parse(await readFile(file, 'utf8'));
    const edited = structuredClone(r);
    edited.items[0].decoded.amount_uj += 1;
    await writeFile(join(dir, 'edited.json'), JSON.stringify(edited));
    const e = await expectCode(1, ['receipt', 'verify', join(dir, 'edited.json'), '--key', nodeKey]);
    assert.match(e.stderr, /E_RECEIPT_INVALID: .*decoded copy does not match its bytes/);
    const dropped = structuredClone(r);
    dropped.items.splice(1, 1);
    await writeFile(join(dir, 'dropped.json'), JSON.stringify(dropped));
    const d = await expectCode(1, ['receipt', 'verify', join(dir, 'dropped.json'), '--key', nodeKey]);
    assert.match(d.stderr, /E_RECEIPT_INVALID: .*(missing from the bill|totals)/);
    const other = await expectCode(1, ['receipt', 'verify', file, '--key', keys.bob!]);
    assert.match(other.stderr, /not from the key given/);

    // A range in the future holds nothing; a bad time is a usage error.
    const empty = await expectCode(0, ['receipt', 'get', keys.alice!, ...st(), '--from', String(Date.now() + 3_600_000), '--to', '2100-01-01T00:00:00Z']);
    assert.equal(JSON.parse(empty.stdout).items.length, 0);
    await expectCode(64, ['receipt', 'get', 'alice', ...st(), '--from', 'yesterday']);
  });

  it('finds an altered entry and names it', async () => {
    const db = new Database(join(dir, 'state', 'ledger.db'));
    const row = db.prepare('SELECT entries FROM epochs WHERE epoch = 0').get() as { entries: Buffer };
    row.entries[60]! ^= 0x01; // inside entry 0's from-wallet (bytes 50..81)
    db.prepare('UPDATE epochs SET entries = ? WHERE epoch = 0').run(row.entries);
    db.close();
    const v = await expectCode(1, ['ledger', 'verify', ...st()]);
    assert.match(v.stdout, /CORRUPT/);
    assert.match(v.stderr, /E_LEDGER_CORRUPT: .*\(entry 0, epoch 0\): entry 0 was altered/);
    const j = JSON.parse((await expectCode(1, ['ledger', 'verify', ...st(), '--json'])).stdout);
    assert.equal(j.ok, false);
    assert.equal(j.problem.seq, 0);
  });
});
