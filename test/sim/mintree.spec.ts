// The placement tree (src/sim/mintree.ts) against a scan.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MinTree } from '../../src/sim/mintree.js';
import { seededRandom } from '../../src/market/random.js';

it('finds the lowest value (lowest index on ties) after point updates and batch rebuilds', () => {
  const r = seededRandom(2);
  for (const n of [1, 2, 3, 7, 64, 1000]) {
    const t = new MinTree(n);
    const v = new Float64Array(n).fill(Infinity);
    assert.equal(t.argmin(), -1);
    for (let k = 0; k < 3000; k++) {
      if (k % 500 === 0) {
        for (let i = 0; i < n; i++) {
          v[i] = Math.floor(r() * 10);
          t.setLeaf(i, v[i]!);
        }
        t.rebuild();
      } else {
        const i = Math.floor(r() * n);
        v[i] = r() < 0.1 ? Infinity : Math.floor(r() * 10);
        t.set(i, v[i]!);
      }
      let best = -1;
      for (let i = 0; i < n; i++) if (v[i]! !== Infinity && (best < 0 || v[i]! < v[best]!)) best = i;
      assert.equal(t.argmin(), best);
      assert.equal(t.min(), best < 0 ? Infinity : v[best]);
    }
  }
});
