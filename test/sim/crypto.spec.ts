// The simulator's memoising verifier (src/sim/crypto.ts): it answers exactly what verifying
// answers, for the exact bytes; anything else is verified for real.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519Crypto } from '../../src/thermal/protocol.js';
import { VerifyCache, simKey } from '../../src/sim/crypto.js';

it('keys are derived from the seed: the same every time, different per node and seed', () => {
  assert.deepEqual(simKey(1, 0).publicKey, simKey(1, 0).publicKey);
  assert.notDeepEqual(simKey(1, 0).publicKey, simKey(1, 1).publicKey);
  assert.notDeepEqual(simKey(1, 0).publicKey, simKey(2, 0).publicKey);
});

it('remembers answers, true and false, only for the exact (key, message, signature)', () => {
  const cache = new VerifyCache(8);
  const a = simKey(9, 0);
  const b = simKey(9, 1);
  const inner = ed25519Crypto(a.privateKey);
  const c = cache.wrap(inner);
  const m = new TextEncoder().encode('heat claim');
  const sig = c.sign(m);
  assert.equal(c.verify(a.publicKey, m, sig), true);
  assert.equal(c.verify(a.publicKey, m, sig), true);
  assert.equal(cache.stats.verifies, 1);
  assert.equal(cache.stats.cacheHits, 1);
  // The same signature with another message or another key: verified for real, refused.
  const m2 = Uint8Array.from(m);
  m2[0]! ^= 1;
  assert.equal(c.verify(a.publicKey, m2, sig), false);
  assert.equal(c.verify(b.publicKey, m, sig), false);
  assert.equal(cache.stats.verifies, 3);
  // A forged signature is remembered as false, and stays false.
  const bad = Uint8Array.from(sig);
  bad[5]! ^= 0x40;
  assert.equal(c.verify(a.publicKey, m, bad), false);
  assert.equal(c.verify(a.publicKey, m, bad), false);
  // The caller reusing its buffer cannot change a remembered answer.
  const buf = Uint8Array.from(m);
  assert.equal(c.verify(a.publicKey, buf, sig), true);
  buf[1]! ^= 1;
  assert.equal(c.verify(a.publicKey, buf, sig), false);
  assert.equal(cache.stats.signs, 1);
});

it('stays within its bound', () => {
  const cache = new VerifyCache(10);
  const k = simKey(3, 0);
  const c = cache.wrap(ed25519Crypto(k.privateKey));
  for (let i = 0; i < 50; i++) {
    const m = Uint8Array.of(i);
    assert.equal(c.verify(k.publicKey, m, c.sign(m)), true);
    assert.ok(cache.size <= 10);
  }
});
