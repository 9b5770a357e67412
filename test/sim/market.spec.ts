// The simulator sells a node's cores through the auction heap only when more bids clear the
// node's price than it has cores; otherwise it lets every such bid run at the node's price. That
// shortcut must be exactly what the auction heap answers: checked here on random books.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { AuctionHeap, seededRandom } from '../../src/market/index.js';

it('with no more bids at or above the reserve than slots, all of them win, at the reserve', () => {
  const r = seededRandom(0x5117);
  for (let trial = 0; trial < 2000; trial++) {
    const slots = 1 + Math.floor(r() * 16);
    const reserve = 0.5 + r() * 4;
    const h = new AuctionHeap({ maxBids: 64, minBidIntervalMs: 0, bidTtlMs: 1e15 });
    const above = new Set<number>();
    const wantAbove = Math.floor(r() * (slots + 1));
    let pid = 0;
    for (let k = 0; k < wantAbove; k++) {
      const bid = r() < 0.2 ? reserve : reserve * (1 + r() * 3);
      h.setBid(pid, bid, 0);
      above.add(pid++);
    }
    const below = Math.floor(r() * 20);
    for (let k = 0; k < below; k++) h.setBid(pid++, reserve * (0.05 + 0.94 * r()), 0);
    const c = h.clear(slots, reserve, 1, seededRandom(trial));
    assert.deepEqual(new Set(c.awards.map((a) => a.pid)), above, `trial ${trial}`);
    assert.equal(c.priceTokensPerJ, reserve, `trial ${trial}`);
  }
});
