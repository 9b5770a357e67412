// Tampering with a stored ledger: each change an attacker with write access to ledger.db could
// make (flip a byte of an entry, reorder two entries, drop one, forge an epoch signature, forge
// a transfer, rewrite a balance, an entry and its hash together, a Merkle node, the wallet
// index) makes `verifyLedger` fail, and the report names the entry (seq) or the epoch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger/ledger.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { verifyLedger, verifyLedgerParallel, type VerifyReport } from '../../src/ledger/verify.js';
import { generateKey, signWith } from '../../src/ledger/keys.js';
import { entryLengthAt, leafHash, transferMessage, HASH_BYTES } from '../../src/ledger/format.js';

let dir: string;
let golden: string;
const T0 = 1_750_000_000_000;

/** A small ledger: a mint, grants, 200 charges, a transfer, rent, a reward, a burn; 5 epochs. */
function buildGolden(path: string): void {
  let now = T0;
  const node = generateKey();
  const L = Ledger.open({ store: new SqliteStore(path), nodeKey: node, powerCapW: 100, now: () => now });
  now += 10_000;
  L.mint();
  const a = generateKey();
  const b = generateKey();
  L.grant(a.raw, 50_000_000);
  L.grant(b.raw, 10_000_000);
  L.seal();
  for (let i = 0; i < 200; i++) {
    now += 1;
    L.charge({ wallet: i % 3 ? a.raw : b.raw, pid: i % 7, fuel: 1000 + i, energyUj: 500 + i, priceUtPerJ: 1_250_000, basis: 'estimated' });
    if (i % 60 === 59) L.seal();
  }
  const nonce = L.nextNonce(a.raw);
  L.transfer({ from: a.raw, to: b.raw, amountUj: 12_345, nonce, signature: signWith(a, transferMessage(node.raw, a.raw, b.raw, 12_345, nonce)) });
  L.rent({ wallet: b.raw, pid: 1, periodMs: 1000, memoryBytes: 1 << 20, amountUj: 77 });
  L.reward({ wallet: a.raw, pid: 2, milliBits: 1585, amountUj: 999 });
  L.burn(1_000);
  L.close();
}

/**
 * A fresh copy of the golden ledger, changed by `mutate` through SQLite directly, then verified
 * on one thread and on 2 and 3 (segments joined at seams, verify.ts): every way must find the
 * same first problem.
 */
async function tampered(mutate: (db: Database.Database) => void): Promise<VerifyReport> {
  const path = join(mkdtempSync(join(dir, 't-')), 'ledger.db');
  copyFileSync(golden, path);
  const db = new Database(path);
  mutate(db);
  db.close();
  const store = new SqliteStore(path, { readonly: true });
  try {
    const one = verifyLedger(store);
    for (const threads of [2, 3]) {
      const many = await verifyLedgerParallel(store, { threads, minEntriesPerThread: 1 });
      assert.ok(many.threads > 1 && many.threads <= threads, `${many.threads} threads`);
      assert.equal(many.ok, one.ok, `${threads} threads: ${many.problem?.message} vs one thread: ${one.problem?.message}`);
      assert.equal(many.problem?.seq, one.problem?.seq, `${threads} threads: ${many.problem?.message} vs one thread: ${one.problem?.message}`);
      if (one.problem?.seq === undefined) assert.equal(many.problem?.epoch, one.problem?.epoch, `${threads} threads: ${many.problem?.message} vs ${one.problem?.message}`);
    }
    return one;
  } finally {
    store.close();
  }
}

/** Offsets of the entries in epoch `e`'s blob. */
function offsets(db: Database.Database, epoch: number): { blob: Buffer; at: number[] } {
  const { entries } = db.prepare('SELECT entries FROM epochs WHERE epoch = ?').get(epoch) as { entries: Buffer };
  const at: number[] = [];
  for (let o = 0; o < entries.length; o += entryLengthAt(entries, o)) at.push(o);
  return { blob: Buffer.from(entries), at };
}
const firstSeqOf = (db: Database.Database, epoch: number) =>
  epoch === 0 ? 0 : (db.prepare('SELECT tree_size FROM epochs WHERE epoch = ?').get(epoch - 1) as { tree_size: number }).tree_size;

describe('tampering with a stored ledger', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'maxwell-tamper-'));
    golden = join(dir, 'golden.db');
    buildGolden(golden);
    // The database file alone: fold the WAL in so that copies are complete.
    const db = new Database(golden);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the untouched ledger verifies', async () => {
    const r = await tampered(() => {});
    assert.ok(r.ok, r.problem?.message);
    assert.equal(r.entries, 207);
    assert.equal(r.epochs, 5);
  });

  it('a flipped byte in an entry names that entry', async () => {
    for (const [epoch, index, field] of [[1, 10, 120], [2, 0, 60], [4, 3, 140], [1, 59, 20]] as const) {
      let seq = -1;
      const r = await tampered((db) => {
        const { blob, at } = offsets(db, epoch);
        blob[at[index]! + field]! ^= 0x01;
        seq = firstSeqOf(db, epoch) + index;
        db.prepare('UPDATE epochs SET entries = ? WHERE epoch = ?').run(blob, epoch);
      });
      assert.equal(r.ok, false);
      assert.equal(r.problem?.seq, seq, `byte ${field} of entry ${seq}: ${r.problem?.message}`);
      assert.match(r.problem!.message, new RegExp(`entry ${seq}\\b`));
    }
  });

  it('an entry rewritten together with its stored hash is caught by the chain and names it', async () => {
    let seq = -1;
    const r = await tampered((db) => {
      const epoch = 2;
      const { blob, at } = offsets(db, epoch);
      const i = 5;
      const len = entryLengthAt(blob, at[i]!);
      blob[at[i]! + 119]! ^= 0x10; // amountUj
      const { hashes } = db.prepare('SELECT hashes FROM epochs WHERE epoch = ?').get(epoch) as { hashes: Buffer };
      const h = Buffer.from(hashes);
      leafHash(blob.subarray(at[i]!, at[i]! + len)).copy(h, i * HASH_BYTES);
      seq = firstSeqOf(db, epoch) + i;
      db.prepare('UPDATE epochs SET entries = ?, hashes = ? WHERE epoch = ?').run(blob, h, epoch);
    });
    assert.equal(r.ok, false);
    // The amount no longer agrees with the balances it records (R5), or the next entry's prevHash breaks (R1).
    assert.ok(r.problem?.seq === seq || r.problem?.seq === seq + 1, r.problem?.message);
  });

  it('two entries swapped, or one dropped, name the first entry out of place', async () => {
    const swapped = await tampered((db) => {
      const { blob, at } = offsets(db, 1);
      // entries 3 and 4 of epoch 1 are both charges (same length): swap their bytes
      const a = Buffer.from(blob.subarray(at[3]!, at[4]!));
      const b = Buffer.from(blob.subarray(at[4]!, at[5]!));
      assert.equal(a.length, b.length);
      b.copy(blob, at[3]!);
      a.copy(blob, at[4]!);
      db.prepare('UPDATE epochs SET entries = ? WHERE epoch = 1').run(blob);
    });
    assert.equal(swapped.ok, false);
    assert.equal(swapped.problem?.seq, 3 + 3, swapped.problem?.message); // epoch 1 starts at seq 3
    assert.match(swapped.problem!.message, /out of place|reordered/);

    const dropped = await tampered((db) => {
      const { blob, at } = offsets(db, 2);
      const cut = Buffer.concat([blob.subarray(0, at[7]!), blob.subarray(at[8]!)]);
      const { hashes } = db.prepare('SELECT hashes FROM epochs WHERE epoch = 2').get() as { hashes: Buffer };
      const h = Buffer.concat([hashes.subarray(0, 7 * HASH_BYTES), hashes.subarray(8 * HASH_BYTES)]);
      db.prepare('UPDATE epochs SET entries = ?, hashes = ? WHERE epoch = 2').run(cut, h);
    });
    assert.equal(dropped.ok, false);
    assert.equal(dropped.problem?.seq, 63 + 7, dropped.problem?.message); // epoch 2 starts at seq 63
    assert.match(dropped.problem!.message, /missing/);
  });

  it('a forged epoch signature names the epoch', async () => {
    const r = await tampered((db) => {
      const { signature } = db.prepare('SELECT signature FROM epochs WHERE epoch = 3').get() as { signature: Buffer };
      const s = Buffer.from(signature);
      s[10]! ^= 0xff;
      db.prepare('UPDATE epochs SET signature = ? WHERE epoch = 3').run(s);
    });
    assert.equal(r.ok, false);
    assert.equal(r.problem?.epoch, 3);
    assert.match(r.problem!.message, /signature/);
  });

  it('an epoch re-signed by another key, with its root rewritten, still fails', async () => {
    const r = await tampered((db) => {
      const root = Buffer.alloc(32, 7);
      db.prepare('UPDATE epochs SET root = ? WHERE epoch = 4').run(root);
    });
    assert.equal(r.ok, false);
    assert.equal(r.problem?.epoch, 4);
    assert.match(r.problem!.message, /Merkle root/);
  });

  it('a forged transfer signature names the transfer', async () => {
    const r = await tampered((db) => {
      const { blob, at } = offsets(db, 4);
      const i = at.findIndex((o) => blob[o + 1] === 3); // kind 3: transfer
      assert.ok(i >= 0);
      blob[at[i]! + 138 + 8 + 5]! ^= 0x01; // inside the signature
      const { hashes } = db.prepare('SELECT hashes FROM epochs WHERE epoch = 4').get() as { hashes: Buffer };
      const h = Buffer.from(hashes);
      leafHash(blob.subarray(at[i]!, at[i]! + entryLengthAt(blob, at[i]!))).copy(h, i * HASH_BYTES);
      db.prepare('UPDATE epochs SET entries = ?, hashes = ? WHERE epoch = 4').run(blob, h);
    });
    assert.equal(r.ok, false);
    assert.match(r.problem!.message, /R7|signature/);
    assert.ok(r.problem?.seq !== undefined);
  });

  it('a rewritten stored balance, Merkle node or wallet index is caught', async () => {
    const bal = await tampered((db) => {
      const w = (db.prepare('SELECT wallet FROM balances LIMIT 1').get() as { wallet: string }).wallet;
      db.prepare('UPDATE balances SET balance_uj = balance_uj + 1 WHERE wallet = ?').run(w);
    });
    assert.equal(bal.ok, false);
    assert.match(bal.problem!.message, /balance/);

    const node = await tampered((db) => {
      db.prepare('UPDATE nodes SET hash = zeroblob(32) WHERE (size, start) = (SELECT size, start FROM nodes LIMIT 1)').run();
    });
    assert.equal(node.ok, false);
    assert.match(node.problem!.message, /Merkle node/);

    const group = await tampered((db) => {
      db.prepare('UPDATE leaf_groups SET hashes = zeroblob(length(hashes)) WHERE grp = 7').run();
    });
    assert.equal(group.ok, false);
    assert.match(group.problem!.message, /leaf groups/);

    const index = await tampered((db) => {
      // drop the last position of the index (an entry a receipt would then miss)
      const { wallet_index: w } = db.prepare('SELECT wallet_index FROM epochs WHERE epoch = 1').get() as { wallet_index: Buffer };
      const cut = Buffer.from(w.subarray(0, w.length - 4));
      cut.writeUInt32BE(cut.readUInt32BE(4 + (cut.readUInt32BE(0) - 1) * 40 + 36) - 1, 4 + (cut.readUInt32BE(0) - 1) * 40 + 36);
      db.prepare('UPDATE epochs SET wallet_index = ? WHERE epoch = 1').run(cut);
    });
    assert.equal(index.ok, false);
    assert.equal(index.problem?.epoch, 1);
    assert.match(index.problem!.message, /wallet index/);
  });

  it('a deleted epoch or a deleted last epoch is caught', async () => {
    const middle = await tampered((db) => db.prepare('DELETE FROM epochs WHERE epoch = 2').run());
    assert.equal(middle.ok, false);
    assert.equal(middle.problem?.epoch, 2);
    const last = await tampered((db) => db.prepare('DELETE FROM epochs WHERE epoch = 4').run());
    // The head state and balances remember the last epoch: the shorter log does not match them.
    assert.equal(last.ok, false, 'dropping the last epoch must not pass');
  });
});
