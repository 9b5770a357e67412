/**
 * The market: slots sold to standing bids. A pure core (no I/O, no clock, no Math.random):
 * the kernel passes the time, the randomness and the reserve price in. See docs/market.md.
 */
import { AuctionHeap } from './auction.js';
import { Lottery } from './lottery.js';
import type { MarketInit, Mechanism } from './book.js';

export { AuctionHeap } from './auction.js';
export { Lottery } from './lottery.js';
export * from './book.js';
export * from './prices.js';
export { seededRandom, type Random } from './random.js';

export type MechanismKind = 'auction' | 'lottery';

/** The kernel picks the mechanism; both take the same bids and answer the same clear(). */
export function createMarket(kind: MechanismKind, init: Partial<MarketInit> = {}): Mechanism {
  return kind === 'auction' ? new AuctionHeap(init) : new Lottery(init);
}
