// Shared by the kernel's end-to-end tests (no tests here): a funded wallet, waiting for a death,
// and the ledger's entries as written.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeHost } from '../../src/kernel/host.js';
import { generateKey } from '../../src/ledger/keys.js';
import { decodeEntry, type Entry } from '../../src/ledger/format.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** An empty /sys: no power meter, so that power is the model's on any machine that runs the tests. */
export const NO_METER = join(ROOT, 'test/fixtures/sys-empty');

/** A new wallet holding `j` J (the treasury waits for the cap to accrue it if need be). */
export async function wallet(host: NodeHost, j: number): Promise<Buffer> {
  const w = generateKey().raw;
  for (let i = 0; ; i++) {
    try {
      host.fund(w, j);
      return w;
    } catch (err) {
      if (i > 200) throw err;
      await sleep(25);
    }
  }
}

export async function untilDead(host: NodeHost, pid: number, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (host.inspect(pid).state !== 'dead') {
    if (Date.now() > end) throw new Error(`process ${pid} still alive after ${ms} ms: ${JSON.stringify(host.inspect(pid))}`);
    await sleep(10);
  }
}

/** Every entry of the host's ledger, sealed first so that all of it is in the file. */
export function entries(host: NodeHost): Entry[] {
  host.ledger.seal();
  const store = new SqliteStore(join(host.stateDir, 'ledger.db'), { readonly: true });
  try {
    return [...store.entries(0, host.ledger.size)].map((e) => decodeEntry(e.bytes));
  } finally {
    store.close();
  }
}
