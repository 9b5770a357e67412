// The ledger's Merkle tree (src/ledger/merkle.ts): RFC 6962 tree hashes, audit paths and
// consistency proofs, verified as RFC 9162 §2.1.3–2.1.4, and the append frontier.
//
// Three kinds of evidence, so that the tree agrees with every other CT implementation and not
// only with itself:
//  - known answers: the Certificate Transparency reference tree (the 8 leaves of CT's
//    merkle_tree_test.cc / Trillian), its roots for sizes 0..8 and its published proofs;
//  - a reference written here from the RFC 6962 §2.1 definitions (MTH, PATH, PROOF), with its
//    own hashing (createHash, not format.ts), compared on every tree size up to 300;
//  - mutations: a proof that is altered in any way (a bit, an element dropped or added, another
//    index, size or root) must fail.
//
// Property tests use fast-check with a fixed seed, so every run draws the same cases; a failure
// prints the counterexample and the `path` to replay it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { leafHash, nodeHash } from '../../src/ledger/format.js';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  consistencyProof,
  inclusionProof,
  splitPoint,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type SubtreeSource,
} from '../../src/ledger/merkle.js';

const FC = { seed: 0x6d65726b, numRuns: 40 } as const;

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// ---------- the reference, from RFC 6962 §2.1 ----------

/** SHA-256 with its own hasher: the reference shares no code with format.ts. */
function H(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
const refLeaf = (data: Buffer) => H(Buffer.from([0]), data);
const refNode = (l: Buffer, r: Buffer) => H(Buffer.from([1]), l, r);
/** The largest power of two strictly below n, by doubling (n ≥ 2). */
function refK(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH, PATH and PROOF over one list of leaf hashes, word for word from RFC 6962 §2.1. MTH is
 * memoised per range (the proofs ask for the same ranges again and again), nothing else.
 */
class RefTree {
  private readonly memo = new Map<string, Buffer>();
  constructor(readonly leaves: readonly Buffer[]) {}

  mth(a: number, b: number): Buffer {
    if (b - a === 0) return H(Buffer.alloc(0));
    if (b - a === 1) return this.leaves[a]!;
    const key = `${a}:${b}`;
    let r = this.memo.get(key);
    if (r === undefined) {
      const k = refK(b - a);
      r = refNode(this.mth(a, a + k), this.mth(a + k, b));
      this.memo.set(key, r);
    }
    return r;
  }

  /** PATH(m, D[a:b]). */
  path(m: number, a: number, b: number): Buffer[] {
    const n = b - a;
    if (n <= 1) return [];
    const k = refK(n);
    if (m < k) return [...this.path(m, a, a + k), this.mth(a + k, b)];
    return [...this.path(m - k, a + k, b), this.mth(a, a + k)];
  }

  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
  proof(m: number, n: number): Buffer[] {
    if (m === 0 || m === n) return [];
    return this.subproof(m, 0, n, true);
  }

  private subproof(m: number, a: number, b: number, whole: boolean): Buffer[] {
    const n = b - a;
    if (m === n) return whole ? [] : [this.mth(a, b)];
    const k = refK(n);
    if (m <= k) return [...this.subproof(m, a, a + k, whole), this.mth(a + k, b)];
    return [...this.subproof(m - k, a + k, b, false), this.mth(a, a + k)];
  }
}

/**
 * The shape of PATH(m, n): for each element, whether it is the left ('L') or right ('R')
 * sibling. RFC 9162's verifier reads nothing but this shape from (index, size): with the right
 * hashes, a proof for (m, n) verifies for (m', n') exactly when the shapes are equal. That is
 * not a weakness of the verifier (the size is bound by the signed head, not by the proof), but
 * it means "a wrong size must fail" holds only where the shape differs.
 */
function pathShape(m: number, n: number): string {
  if (n <= 1) return '';
  const k = refK(n);
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}

/**
 * The shape of PROOF(m, n), the same way: whether the proof starts from the old root itself
 * ('*', m a complete left subtree) or from a node it carries ('s'), then per element whether it
 * is a left sibling, part of both trees ('L'), or a right one, part of the new tree only ('R').
 */
function proofShape(m: number, n: number): string {
  const sub = (m1: number, n1: number, whole: boolean): string => {
    if (m1 === n1) return whole ? '*' : 's';
    const k = refK(n1);
    return m1 <= k ? `${sub(m1, k, whole)}R` : `${sub(m1 - k, n1 - k, false)}L`;
  };
  return m === 0 || m === n ? '' : sub(m, n, true);
}

/**
 * A SubtreeSource over an array of leaf hashes. It hashes the perfect subtrees itself (by
 * levels, with format.ts's nodeHash, as the store does) and refuses any request that is not a
 * perfect subtree aligned to its size: the contract merkle.ts promises to keep.
 */
class ArraySource implements SubtreeSource {
  calls = 0;
  private readonly memo = new Map<string, Buffer>();
  constructor(readonly leaves: readonly Buffer[]) {}
  subtree(start: number, size: number): Buffer {
    this.calls++;
    const key = `${start}+${size}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    assert.ok(Number.isInteger(Math.log2(size)), `subtree(${start}, ${size}): the size is not a power of two`);
    assert.ok(start % size === 0, `subtree(${start}, ${size}): not aligned to its size`);
    assert.ok(start + size <= this.leaves.length, `subtree(${start}, ${size}): past the ${this.leaves.length} leaves`);
    let level = this.leaves.slice(start, start + size);
    while (level.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
      level = up;
    }
    this.memo.set(key, level[0]!);
    return level[0]!;
  }
}

/** n distinct leaf hashes. */
const leavesOf = (n: number, salt = 0): Buffer[] =>
  Array.from({ length: n }, (_, i) => refLeaf(Buffer.from(`leaf ${salt}/${i}`)));

function popcount(n: number): number {
  let c = 0;
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2;
  return c;
}

function flipBit(b: Buffer, bit: number): Buffer {
  const c = Buffer.from(b);
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
}

// ---------- the Certificate Transparency reference tree ----------

const CT_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_LEAVES = CT_INPUTS.map((d) => leafHash(d));
/** MTH of the first n CT leaves, n = 0..8 (CT merkle_tree_test.cc, Trillian's rfc6962 tests). */
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** CT's published audit paths (leaf index 0-based here; CT numbers leaves from 1). */
const CT_INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
/** CT's published consistency proofs. */
const CT_CONSISTENCY: { m: number; n: number; proof: string[] }[] = [
  { m: 1, n: 1, proof: [] },
  { m: 1, n: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 6, n: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

describe('merkle: the Certificate Transparency reference tree (known answers)', () => {
  const src = new ArraySource(CT_LEAVES);

  it('hashes: the empty root is SHA-256(""), the leaf hash is SHA-256(0x00 ‖ d), the node hash SHA-256(0x01 ‖ l ‖ r)', () => {
    assert.equal(hex(EMPTY_ROOT), CT_ROOTS[0]);
    // The root of one leaf is its leaf hash: leaf "" → 6e34…, the published size-1 root.
    assert.equal(hex(leafHash(Buffer.alloc(0))), CT_ROOTS[1]);
    for (const d of CT_INPUTS) assert.equal(hex(leafHash(d)), hex(refLeaf(d)));
    assert.equal(hex(nodeHash(CT_LEAVES[0]!, CT_LEAVES[1]!)), CT_ROOTS[2]);
  });

  it('treeHash gives the published root for every size 0..8', () => {
    for (let n = 0; n <= 8; n++) assert.equal(hex(treeHash(src, 0, n)), CT_ROOTS[n], `size ${n}`);
  });

  it('the reference MTH written here gives the same roots (so it can be trusted on larger trees)', () => {
    const ref = new RefTree(CT_INPUTS.map(refLeaf));
    for (let n = 0; n <= 8; n++) assert.equal(hex(ref.mth(0, n)), CT_ROOTS[n], `size ${n}`);
  });

  it('MerkleFrontier gives the published root after each append', () => {
    const f = new MerkleFrontier();
    assert.equal(hex(f.root()), CT_ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      f.push(CT_LEAVES[n - 1]!);
      assert.equal(f.size, n);
      assert.equal(hex(f.root()), CT_ROOTS[n], `size ${n}`);
    }
  });

  it('inclusionProof gives the published audit paths, and they verify', () => {
    for (const v of CT_INCLUSION) {
      const proof = inclusionProof(src, v.index, v.size);
      assert.deepEqual(proof.map(hex), v.proof, `leaf ${v.index} of ${v.size}`);
      const root = unhex(CT_ROOTS[v.size]!);
      assert.equal(verifyInclusion(CT_LEAVES[v.index]!, v.index, v.size, v.proof.map(unhex), root), true, `leaf ${v.index} of ${v.size}`);
      assert.equal(verifyInclusion(CT_LEAVES[v.index]!, v.index, v.size, v.proof.map(unhex), unhex(CT_ROOTS[v.size - 1]!)), false);
    }
  });

  it('consistencyProof gives the published proofs, and they verify', () => {
    for (const v of CT_CONSISTENCY) {
      const proof = consistencyProof(src, v.m, v.n);
      assert.deepEqual(proof.map(hex), v.proof, `${v.m} → ${v.n}`);
      assert.equal(verifyConsistency(v.m, v.n, v.proof.map(unhex), unhex(CT_ROOTS[v.m]!), unhex(CT_ROOTS[v.n]!)), true, `${v.m} → ${v.n}`);
    }
  });
});

// ---------- against the RFC 6962 reference ----------

describe('merkle: against the RFC 6962 definitions, every size up to 300', () => {
  it('splitPoint(n) is the largest power of two strictly below n, including past 2^32', () => {
    for (let n = 2; n <= 1100; n++) assert.equal(splitPoint(n), refK(n), `n=${n}`);
    for (const e of [31, 32, 33, 40, 52]) {
      assert.equal(splitPoint(2 ** e), 2 ** (e - 1), `2^${e}`);
      assert.equal(splitPoint(2 ** e + 1), 2 ** e, `2^${e}+1`);
      assert.equal(splitPoint(2 ** e - 1), 2 ** (e - 1), `2^${e}-1`);
    }
    assert.throws(() => splitPoint(1));
  });

  it('treeHash(0, n) = MTH for every n in 0..300, from exactly popcount(n) perfect subtrees', () => {
    const leaves = leavesOf(300);
    const ref = new RefTree(leaves);
    for (let n = 0; n <= 300; n++) {
      const src = new ArraySource(leaves.slice(0, n));
      assert.equal(hex(treeHash(src, 0, n)), hex(ref.mth(0, n)), `size ${n}`);
      // The root of n leaves is the fold of the frontier: one stored subtree per set bit of n.
      assert.equal(src.calls, popcount(n), `size ${n}: ${src.calls} subtree lookups`);
    }
  });

  it('treeHash(a, b) = MTH(D[a:b]) for any range, aligned or not', () => {
    const leaves = leavesOf(300, 1);
    const src = new ArraySource(leaves);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (x, y) => {
        const [a, b] = x <= y ? [x, y] : [y, x];
        assert.equal(hex(treeHash(src, a, b)), hex(new RefTree(leaves.slice(a, b)).mth(0, b - a)), `[${a}, ${b})`);
      }),
      { ...FC, numRuns: 300 },
    );
  });

  it('inclusionProof(m, n) = PATH(m, D[n]) and verifies, for every m, for random n in [1, 300]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (n) => {
        const leaves = leavesOf(n, n);
        const src = new ArraySource(leaves);
        const ref = new RefTree(leaves);
        const root = treeHash(src, 0, n);
        assert.equal(hex(root), hex(ref.mth(0, n)));
        for (let m = 0; m < n; m++) {
          const proof = inclusionProof(src, m, n);
          assert.deepEqual(proof.map(hex), ref.path(m, 0, n).map(hex), `PATH(${m}, ${n})`);
          assert.equal(proof.length, pathShape(m, n).length);
          assert.equal(verifyInclusion(leaves[m]!, m, n, proof, root), true, `leaf ${m} of ${n}`);
        }
      }),
      FC,
    );
  });

  it('consistencyProof(m, n) = PROOF(m, D[n]) and verifies, for every m, for random n in [1, 300]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (n) => {
        const leaves = leavesOf(n, n + 1000);
        const src = new ArraySource(leaves);
        const ref = new RefTree(leaves);
        const rootN = treeHash(src, 0, n);
        for (let m = 0; m <= n; m++) {
          const proof = consistencyProof(src, m, n);
          assert.deepEqual(proof.map(hex), ref.proof(m, n).map(hex), `PROOF(${m}, ${n})`);
          assert.equal(verifyConsistency(m, n, proof, treeHash(src, 0, m), rootN), true, `${m} → ${n}`);
        }
      }),
      FC,
    );
  });

  it('the edges: m = 0 and m = n need no proof; a non-empty one is refused', () => {
    const leaves = leavesOf(9);
    const src = new ArraySource(leaves);
    const r9 = treeHash(src, 0, 9);
    assert.deepEqual(consistencyProof(src, 0, 9), []);
    assert.deepEqual(consistencyProof(src, 9, 9), []);
    assert.equal(verifyConsistency(0, 9, [], EMPTY_ROOT, r9), true);
    assert.equal(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT), true);
    assert.equal(verifyConsistency(9, 9, [], r9, r9), true);
    assert.equal(verifyConsistency(0, 9, [], leaves[0]!, r9), false, 'the old root of size 0 is the empty root');
    assert.equal(verifyConsistency(9, 9, [leaves[0]!], r9, r9), false, 'equal sizes take an empty proof');
    assert.equal(verifyConsistency(9, 9, [], r9, leaves[0]!), false, 'equal sizes take equal roots');
    assert.equal(verifyConsistency(0, 9, [leaves[0]!], EMPTY_ROOT, r9), false);
    // A proof from a non-empty tree is never empty.
    assert.equal(verifyConsistency(4, 9, [], treeHash(src, 0, 4), r9), false);
    assert.equal(verifyConsistency(3, 9, [], treeHash(src, 0, 3), r9), false);
    // One leaf, no path: the root is the leaf.
    assert.deepEqual(inclusionProof(src, 0, 1), []);
    assert.equal(verifyInclusion(leaves[0]!, 0, 1, [], leaves[0]!), true);
    assert.equal(verifyInclusion(leaves[0]!, 0, 1, [], leaves[1]!), false);
    assert.throws(() => inclusionProof(src, 9, 9));
    assert.throws(() => inclusionProof(src, -1, 9));
    assert.throws(() => consistencyProof(src, 10, 9));
  });
});

// ---------- mutations ----------

/** A tree of n leaves with its proofs, built once per case. */
function fixture(n: number, salt: number) {
  const leaves = leavesOf(n, salt);
  const src = new ArraySource(leaves);
  const roots = Array.from({ length: n + 2 }, (_, s) => (s <= n ? treeHash(src, 0, s) : H(Buffer.from(`other ${s}`))));
  return { leaves, src, roots };
}

const sizeAndIndex = fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));
const sizeAndOld = fc.integer({ min: 2, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 })));

describe('merkle: altered proofs fail', () => {
  it('inclusion: any flipped bit, dropped or added element, or swapped elements fails', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.nat(), ([n, m], bit, pick) => {
        const { leaves, src, roots } = fixture(n, 7);
        const root = roots[n]!;
        const proof = inclusionProof(src, m, n);
        const leaf = leaves[m]!;
        assert.equal(verifyInclusion(leaf, m, n, proof, root), true);
        // A flipped bit in any element, in the leaf or in the root.
        for (let i = 0; i < proof.length; i++) {
          const bad = proof.slice();
          bad[i] = flipBit(bad[i]!, bit);
          assert.equal(verifyInclusion(leaf, m, n, bad, root), false, `element ${i} of ${proof.length} flipped (leaf ${m} of ${n})`);
        }
        assert.equal(verifyInclusion(flipBit(leaf, bit), m, n, proof, root), false, 'flipped leaf');
        assert.equal(verifyInclusion(leaf, m, n, proof, flipBit(root, bit)), false, 'flipped root');
        // Any element dropped; an element added anywhere (a copy of one, or a fresh hash).
        for (let i = 0; i < proof.length; i++) {
          assert.equal(verifyInclusion(leaf, m, n, proof.filter((_, j) => j !== i), root), false, `element ${i} dropped`);
        }
        const extras = [H(Buffer.from(`extra ${pick}`)), proof[pick % Math.max(1, proof.length)] ?? leaf, root];
        for (let at = 0; at <= proof.length; at++) {
          for (const x of extras) {
            const bad = [...proof.slice(0, at), x, ...proof.slice(at)];
            assert.equal(verifyInclusion(leaf, m, n, bad, root), false, `element added at ${at} (leaf ${m} of ${n})`);
          }
        }
        if (proof.length >= 2) {
          const i = pick % (proof.length - 1);
          const bad = proof.slice();
          [bad[i], bad[i + 1]] = [bad[i + 1]!, bad[i]!];
          assert.equal(verifyInclusion(leaf, m, n, bad, root), false, `elements ${i}, ${i + 1} swapped`);
        }
        // Another leaf's hash at this index, this leaf at its neighbour's place.
        if (n > 1) assert.equal(verifyInclusion(leaves[(m + 1) % n]!, m, n, proof, root), false, 'another leaf');
      }),
      { ...FC, numRuns: 150 },
    );
  });

  it('inclusion: another index or size verifies exactly when its path has the same shape; another root never', () => {
    fc.assert(
      fc.property(sizeAndIndex, ([n, m]) => {
        const { leaves, src, roots } = fixture(n, 8);
        const proof = inclusionProof(src, m, n);
        const leaf = leaves[m]!;
        const shape = pathShape(m, n);
        for (let m2 = 0; m2 < n; m2++) {
          if (m2 === m) continue;
          assert.equal(verifyInclusion(leaf, m2, n, proof, roots[n]!), pathShape(m2, n) === shape, `leaf ${m} of ${n} claimed at ${m2}`);
        }
        for (let n2 = m + 1; n2 <= n + 300; n2++) {
          if (n2 === n) continue;
          assert.equal(verifyInclusion(leaf, m, n2, proof, roots[n]!), pathShape(m, n2) === shape, `leaf ${m} of ${n} claimed in a tree of ${n2}`);
        }
        // Out of range or not an integer: refused whatever the proof.
        for (const [i, s] of [[n, n], [m, m], [-1, n], [m + 0.5, n], [m, n + 0.5], [NaN, n], [m, Infinity], [m, 2 ** 53], [2 ** 53, 2 ** 53 + 2]] as const) {
          assert.equal(verifyInclusion(leaf, i, s, proof, roots[n]!), false, `index ${i}, size ${s}`);
        }
        for (let s = 0; s < roots.length; s++) {
          if (s !== n) assert.equal(verifyInclusion(leaf, m, n, proof, roots[s]!), false, `against the root of ${s}`);
        }
      }),
      { ...FC, numRuns: 100 },
    );
  });

  it('the shape rule is a real case, not a loophole of the test: leaf 0 of 5 also verifies as leaf 0 of 6, 7 or 8', () => {
    // The same left-leaning path: the verifier cannot and need not tell (the signed head fixes the size).
    const { leaves, src, roots } = fixture(5, 9);
    const proof = inclusionProof(src, 0, 5);
    for (const n2 of [6, 7, 8]) assert.equal(verifyInclusion(leaves[0]!, 0, n2, proof, roots[5]!), true, `size ${n2}`);
    assert.equal(verifyInclusion(leaves[0]!, 0, 9, proof, roots[5]!), false, 'size 9 has a longer path');
    assert.equal(verifyInclusion(leaves[0]!, 0, 4, proof, roots[5]!), false, 'size 4 has a shorter path');
  });

  it('consistency: any flipped bit, dropped or added element fails', () => {
    fc.assert(
      fc.property(sizeAndOld, fc.nat(), fc.nat(), ([n, m], bit, pick) => {
        const { src, roots } = fixture(n, 10);
        const proof = consistencyProof(src, m, n);
        const [r1, r2] = [roots[m]!, roots[n]!];
        assert.equal(verifyConsistency(m, n, proof, r1, r2), true);
        for (let i = 0; i < proof.length; i++) {
          const bad = proof.slice();
          bad[i] = flipBit(bad[i]!, bit);
          assert.equal(verifyConsistency(m, n, bad, r1, r2), false, `element ${i} of ${proof.length} flipped (${m} → ${n})`);
          assert.equal(verifyConsistency(m, n, proof.filter((_, j) => j !== i), r1, r2), false, `element ${i} dropped (${m} → ${n})`);
        }
        const extras = [H(Buffer.from(`extra ${pick}`)), proof[pick % proof.length]!, r1, r2];
        for (let at = 0; at <= proof.length; at++) {
          for (const x of extras) {
            const bad = [...proof.slice(0, at), x, ...proof.slice(at)];
            assert.equal(verifyConsistency(m, n, bad, r1, r2), false, `element added at ${at} (${m} → ${n})`);
          }
        }
        assert.equal(verifyConsistency(m, n, proof, flipBit(r1, bit), r2), false, 'flipped old root');
        assert.equal(verifyConsistency(m, n, proof, r1, flipBit(r2, bit)), false, 'flipped new root');
        assert.equal(verifyConsistency(m, n, proof, r2, r1), false, 'roots swapped');
      }),
      { ...FC, numRuns: 150 },
    );
  });

  it('consistency: other sizes verify exactly when the proof has the same shape; other roots never', () => {
    fc.assert(
      fc.property(sizeAndOld, ([n, m]) => {
        const { src, roots } = fixture(n, 11);
        const proof = consistencyProof(src, m, n);
        const shape = proofShape(m, n);
        const [r1, r2] = [roots[m]!, roots[n]!];
        for (let m2 = 1; m2 < n; m2++) {
          if (m2 === m) continue;
          assert.equal(verifyConsistency(m2, n, proof, r1, r2), proofShape(m2, n) === shape, `${m} → ${n} claimed as ${m2} → ${n}`);
        }
        for (let n2 = m + 1; n2 <= n + 300; n2++) {
          if (n2 === n) continue;
          assert.equal(verifyConsistency(m, n2, proof, r1, r2), proofShape(m, n2) === shape, `${m} → ${n} claimed as ${m} → ${n2}`);
        }
        for (let s = 0; s < roots.length; s++) {
          if (s !== m) assert.equal(verifyConsistency(m, n, proof, roots[s]!, r2), false, `old root of ${s}`);
          if (s !== n) assert.equal(verifyConsistency(m, n, proof, r1, roots[s]!), false, `new root of ${s}`);
        }
        for (const [a, b] of [[n, m], [-1, n], [m + 0.5, n], [m, n + 0.5], [NaN, n], [m, NaN], [m, 2 ** 53]] as const) {
          assert.equal(verifyConsistency(a, b, proof, r1, r2), false, `sizes ${a} → ${b}`);
        }
      }),
      { ...FC, numRuns: 100 },
    );
  });
});

// ---------- the frontier ----------

describe('merkle: MerkleFrontier', () => {
  const N = 300;
  const leaves = leavesOf(N, 42);
  const ref = new RefTree(leaves);
  const src = new ArraySource(leaves);

  it('root() = MTH after every push, and onNode reports exactly the perfect aligned subtrees, each once, when complete', () => {
    const f = new MerkleFrontier();
    const seen = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const reported: [number, number][] = [];
      f.push(leaves[i]!, (start, size, hash) => {
        const key = `${start}+${size}`;
        assert.ok(!seen.has(key), `subtree ${key} reported twice`);
        seen.set(key, hex(hash));
        reported.push([start, size]);
      });
      assert.equal(f.size, i + 1);
      assert.equal(hex(f.root()), hex(ref.mth(0, i + 1)), `size ${i + 1}`);
      // Leaf i completes the perfect subtrees ending at i: sizes 2, 4, … while (i + 1) is a multiple.
      const expected: [number, number][] = [];
      for (let s = 2; (i + 1) % s === 0; s *= 2) expected.push([i + 1 - s, s]);
      assert.deepEqual(reported, expected, `push of leaf ${i}`);
    }
    // All of them, with their hashes.
    let count = 0;
    for (let s = 2; s <= N; s *= 2) {
      for (let a = 0; a + s <= N; a += s) {
        count++;
        assert.equal(seen.get(`${a}+${s}`), hex(ref.mth(a, a + s)), `subtree ${a}+${s}`);
      }
    }
    assert.equal(seen.size, count);
  });

  it('fromSource(src, n) has the root of n leaves and continues like a frontier built by pushes', () => {
    for (let n = 0; n <= N; n++) {
      const f = MerkleFrontier.fromSource(src, n);
      assert.equal(f.size, n);
      assert.equal(hex(f.root()), hex(ref.mth(0, n)), `fromSource(${n})`);
      const more = Math.min(N, n + (n % 7 === 0 ? N : 20));
      for (let i = n; i < more; i++) {
        const nodes: string[] = [];
        f.push(leaves[i]!, (a, s, h) => nodes.push(`${a}+${s}:${hex(h)}`));
        const expected: string[] = [];
        for (let s = 2; (i + 1) % s === 0; s *= 2) expected.push(`${i + 1 - s}+${s}:${hex(ref.mth(i + 1 - s, i + 1))}`);
        assert.deepEqual(nodes, expected, `fromSource(${n}), then leaf ${i}`);
        assert.equal(hex(f.root()), hex(ref.mth(0, i + 1)), `fromSource(${n}) + ${i + 1 - n} leaves`);
      }
    }
  });

  it('an empty frontier has the empty root', () => {
    assert.equal(hex(new MerkleFrontier().root()), CT_ROOTS[0]);
    assert.equal(hex(MerkleFrontier.fromSource(src, 0).root()), CT_ROOTS[0]);
  });
});

// ---------- past 2^32 ----------

/**
 * A tree of 2^33 + 16 and more leaves that is cheap to hash and still honest: every leaf is the
 * same hash U except a few "marked" leaves (around 2^32 and from 2^33 on), so a perfect subtree
 * with no marked leaf has a hash that depends on its size only (33 hashes for all of them), and
 * one with marked leaves is hashed from its halves. Every hash is the real MTH of that
 * sequence, so the proofs the tree gives are real proofs and must verify — with arithmetic that
 * a 32-bit bit operator (x >>> 1, x & 1, x | 0) would get wrong at these indices.
 */
class BigSource implements SubtreeSource {
  private readonly uniform: Buffer[] = [];
  private readonly memo = new Map<string, Buffer>();
  calls = 0;
  constructor(readonly marked: ReadonlySet<number>) {
    this.uniform[0] = refLeaf(Buffer.from('unmarked'));
    for (let e = 1; e <= 52; e++) this.uniform[e] = refNode(this.uniform[e - 1]!, this.uniform[e - 1]!);
  }
  leaf(i: number): Buffer {
    return this.marked.has(i) ? refLeaf(Buffer.from(`marked ${i}`)) : this.uniform[0]!;
  }
  private hasMarked(a: number, b: number): boolean {
    for (const m of this.marked) if (m >= a && m < b) return true;
    return false;
  }
  subtree(start: number, size: number): Buffer {
    this.calls++;
    assert.ok(Number.isInteger(Math.log2(size)) && start % size === 0, `subtree(${start}, ${size}) is not perfect and aligned`);
    if (size === 1) return this.leaf(start);
    if (!this.hasMarked(start, start + size)) return this.uniform[Math.log2(size)]!;
    const key = `${start}+${size}`;
    let h = this.memo.get(key);
    if (h === undefined) {
      h = refNode(this.subtree(start, size / 2), this.subtree(start + size / 2, size / 2));
      this.memo.set(key, h);
    }
    return h;
  }
}

describe('merkle: sizes and indices past 2^32', () => {
  const B = 2 ** 33;
  const marked = new Set<number>();
  for (let i = 0; i < 8; i++) marked.add(2 ** 32 - 4 + i);
  for (let i = 0; i < 40; i++) marked.add(B + i);
  marked.add(5); // the index 2^33 + 5 would alias to under 32-bit arithmetic
  const src = new BigSource(marked);

  it('the big source is honest: its subtree hashes are MTH of its leaves on a small prefix', () => {
    // Same construction, checked against the plain reference where that is affordable.
    const small = new BigSource(new Set([3, 17, 18, 40]));
    const leaves = Array.from({ length: 64 }, (_, i) => small.leaf(i));
    const ref = new RefTree(leaves);
    for (let s = 1; s <= 64; s *= 2) for (let a = 0; a < 64; a += s) assert.equal(hex(small.subtree(a, s)), hex(ref.mth(a, a + s)));
  });

  it('an inclusion proof for leaf 2^33 + 5 in a tree of 2^33 + 10 verifies, and not as leaf 5 or any neighbour', () => {
    const n = B + 10;
    const m = B + 5;
    const root = treeHash(src, 0, n);
    const proof = inclusionProof(src, m, n);
    // Inside [2^33, 2^33 + 10): the siblings [2^33+4, +8), [2^33+6, +8)… then [2^33+8, +10), then [0, 2^33).
    assert.equal(proof.length, 5);
    assert.equal(pathShape(m, n), 'LRLRL');
    assert.equal(hex(proof[proof.length - 1]!), hex(src.subtree(0, B)), 'the last sibling is the whole left half');
    assert.equal(verifyInclusion(src.leaf(m), m, n, proof, root), true);
    // Indices and sizes that 32-bit arithmetic would confuse with these.
    for (const [i, s] of [[5, n], [m, 10], [5, 10], [m - 1, n], [m + 1, n], [m, n + 2 ** 32], [m + 2 ** 32, n + 2 ** 32], [m - 2 ** 32, n]] as const) {
      const same = i >= 0 && i < s && pathShape(i, s) === pathShape(m, n);
      assert.equal(same, false, 'none of these has the same path shape');
      assert.equal(verifyInclusion(src.leaf(m), i, s, proof, root), false, `index ${i}, size ${s}`);
    }
    for (let i = 0; i < proof.length; i++) {
      const bad = proof.slice();
      bad[i] = flipBit(bad[i]!, 77);
      assert.equal(verifyInclusion(src.leaf(m), m, n, bad, root), false, `element ${i} flipped`);
    }
    // Every marked leaf near the top of the tree, in a few sizes.
    for (const size of [B + 1, B + 7, B + 16, B + 33, B + 40]) {
      const r = treeHash(src, 0, size);
      for (let i = B; i < size; i++) assert.equal(verifyInclusion(src.leaf(i), i, size, inclusionProof(src, i, size), r), true, `leaf ${i} of ${size}`);
      for (let i = 2 ** 32 - 4; i < 2 ** 32 + 4; i++) assert.equal(verifyInclusion(src.leaf(i), i, size, inclusionProof(src, i, size), r), true, `leaf ${i} of ${size}`);
    }
  });

  it('treeHash past 2^33 is lazy: a root costs O(log n) subtree lookups', () => {
    src.calls = 0;
    treeHash(src, 0, B + 10);
    assert.ok(src.calls < 200, `${src.calls} lookups`);
  });

  it('consistency proofs between sizes across 2^32 and 2^33 verify, and fail when altered', () => {
    const pairs: [number, number][] = [
      [B + 3, B + 10], [B, B + 10], [B + 1, B + 33], [2 ** 32, B + 10], [2 ** 32 + 1, B + 10], [2 ** 32 - 3, 2 ** 32 + 3],
      [2 ** 32 + 2, B + 39], [5, B + 10], [6, B + 1], [1, B + 40], [2 ** 32 - 1, B + 5],
    ];
    for (const [m, n] of pairs) {
      const proof = consistencyProof(src, m, n);
      const r1 = treeHash(src, 0, m);
      const r2 = treeHash(src, 0, n);
      assert.equal(verifyConsistency(m, n, proof, r1, r2), true, `${m} → ${n}`);
      // One element per tag of the shape, plus the seed unless the seed is the old root itself.
      const shape = proofShape(m, n);
      assert.equal(proof.length, shape.length - (shape.startsWith('*') ? 1 : 0), `${m} → ${n}: ${shape}`);
      for (let i = 0; i < proof.length; i++) {
        const bad = proof.slice();
        bad[i] = flipBit(bad[i]!, 3);
        assert.equal(verifyConsistency(m, n, bad, r1, r2), false, `${m} → ${n}, element ${i} flipped`);
      }
      // The same proof under sizes a 32-bit truncation would give.
      const t = (x: number) => x % 2 ** 32;
      if (t(m) > 0 && t(m) < t(n) && (t(m) !== m || t(n) !== n)) {
        assert.equal(verifyConsistency(t(m), t(n), proof, r1, r2), proofShape(t(m), t(n)) === proofShape(m, n), `${m} → ${n} as ${t(m)} → ${t(n)}`);
      }
    }
  });

  it('MerkleFrontier.fromSource past 2^33 has the right root and keeps appending correctly', () => {
    const n = B + 10;
    const f = MerkleFrontier.fromSource(src, n);
    assert.equal(f.size, n);
    assert.equal(hex(f.root()), hex(treeHash(src, 0, n)));
    for (let i = n; i < B + 40; i++) {
      const nodes: [number, number, string][] = [];
      f.push(src.leaf(i), (a, s, h) => nodes.push([a, s, hex(h)]));
      const expected: [number, number, string][] = [];
      for (let s = 2; (i + 1) % s === 0; s *= 2) expected.push([i + 1 - s, s, hex(src.subtree(i + 1 - s, s))]);
      assert.deepEqual(nodes, expected, `leaf ${i}`);
      assert.equal(hex(f.root()), hex(treeHash(src, 0, i + 1)), `size ${i + 1}`);
    }
  });
});

// ---------- proof elements that are not hashes ----------

describe('merkle: malformed proof elements', () => {
  const leaves = leavesOf(13, 5);
  const src = new ArraySource(leaves);
  const root = treeHash(src, 0, 13);
  const r6 = treeHash(src, 0, 6);

  it(
    'verifyInclusion refuses a proof element that is not 32 bytes (here: a correct one with a byte appended)',
    () => {
      const proof = inclusionProof(src, 6, 13);
      const padded = proof.map((p, i) => (i === 0 ? Buffer.concat([p, Buffer.from([0xee])]) : p));
      assert.equal(verifyInclusion(leaves[6]!, 6, 13, padded, root), false, 'a 33-byte element');
      const paddedLeaf = Buffer.concat([leaves[6]!, Buffer.from('junk')]);
      assert.equal(verifyInclusion(paddedLeaf, 6, 13, proof, root), false, 'a 36-byte leaf');
      const cproof = consistencyProof(src, 6, 13);
      const cpadded = cproof.map((p) => Buffer.concat([p, Buffer.from([1, 2, 3])]));
      assert.equal(verifyConsistency(6, 13, cpadded, r6, root), false, 'consistency elements of 35 bytes');
      // Worse: an EMPTY element verifies when the scratch buffer still holds the sibling from the
      // last nodeHash call (here the one that computed the root being checked against).
      const a = leaves[0]!;
      const b = leaves[1]!;
      const r2 = nodeHash(a, b);
      assert.equal(verifyInclusion(a, 0, 2, [Buffer.alloc(0)], r2), false, 'an empty proof element');
      nodeHash(a, b);
      assert.equal(verifyInclusion(a, 0, 2, [b.subarray(0, 31)], r2), false, 'a 31-byte proof element');
    },
  );
});
