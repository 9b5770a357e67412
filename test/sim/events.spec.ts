// The simulator's event queue (src/sim/events.ts): time order, ties in scheduling order, growth
// up to its limit and a clear refusal past it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue, poppedEvent } from '../../src/sim/events.js';
import { seededRandom } from '../../src/market/random.js';
import { MaxwellError } from '../../src/errors.js';

it('pops events in time order, ties in the order they were pushed', () => {
  const q = new EventQueue({ maxEvents: 100_000, initialEvents: 16 });
  const r = seededRandom(7);
  const pushed: { t: number; id: number }[] = [];
  for (let id = 0; id < 5000; id++) {
    const t = Math.floor(r() * 100); // many equal times
    q.push(t, 1, id, 0);
    pushed.push({ t, id });
  }
  assert.ok(q.isValid());
  const expected = [...pushed].sort((a, b) => a.t - b.t || a.id - b.id);
  const ev = poppedEvent();
  const got: number[] = [];
  while (q.pop(ev)) got.push(ev.a);
  assert.deepEqual(got, expected.map((e) => e.id));
  assert.equal(q.size, 0);
  assert.ok(q.isValid());
});

it('interleaves pushes and pops, and carries payloads', () => {
  const q = new EventQueue({ maxEvents: 1000 });
  const ev = poppedEvent();
  q.push(5, 2, 1, 9, new Uint8Array([1, 2]));
  q.push(3, 1, 2, 0);
  assert.equal(q.peekTimeMs(), 3);
  assert.ok(q.pop(ev));
  assert.equal(ev.a, 2);
  q.push(4, 1, 3, 0);
  assert.ok(q.pop(ev));
  assert.equal(ev.a, 3);
  assert.ok(q.pop(ev));
  assert.deepEqual([...ev.payload!], [1, 2]);
  assert.equal(ev.b, 9);
  assert.equal(q.pop(ev), false);
  assert.equal(q.peekTimeMs(), Infinity);
});

it('refuses more than maxEvents pending with E_SIM_LIMIT', () => {
  const q = new EventQueue({ maxEvents: 40, initialEvents: 16 });
  for (let i = 0; i < 40; i++) q.push(i, 1, i, 0);
  assert.throws(() => q.push(41, 1, 0, 0), (e: unknown) => e instanceof MaxwellError && e.code === 'E_SIM_LIMIT');
});
