/**
 * The lowest price in the cluster, kept up to date as prices change: a segment tree over the
 * nodes (a complete binary tree in a Float64Array, leaves at [size, 2·size)). Changing one
 * node's price is O(log n); finding the cheapest node is O(1) for its price and O(log n) for
 * its index; rebuilding after every node's price changed (each physics step) is O(n).
 * Ties go to the lower index, so the answer is a function of the prices alone.
 */
export class MinTree {
  readonly n: number;
  private readonly size: number;
  private readonly tree: Float64Array;

  constructor(n: number) {
    this.n = n;
    let size = 1;
    while (size < n) size *= 2;
    this.size = size;
    this.tree = new Float64Array(2 * size).fill(Infinity);
  }

  /** Sets leaf i without updating its ancestors (call rebuild() after a batch). */
  setLeaf(i: number, v: number): void {
    this.tree[this.size + i] = v;
  }

  rebuild(): void {
    const t = this.tree;
    for (let k = this.size - 1; k >= 1; k--) t[k] = Math.min(t[2 * k]!, t[2 * k + 1]!);
  }

  set(i: number, v: number): void {
    const t = this.tree;
    let k = this.size + i;
    t[k] = v;
    for (k >>= 1; k >= 1; k >>= 1) {
      const m = Math.min(t[2 * k]!, t[2 * k + 1]!);
      if (t[k] === m) break;
      t[k] = m;
    }
  }

  get(i: number): number {
    return this.tree[this.size + i]!;
  }

  min(): number {
    return this.tree[1]!;
  }

  /** The index of the lowest value (the lowest such index), or -1 if every value is Infinity. */
  argmin(): number {
    const t = this.tree;
    if (t[1] === Infinity) return -1;
    let k = 1;
    while (k < this.size) k = t[2 * k]! <= t[2 * k + 1]! ? 2 * k : 2 * k + 1;
    return k - this.size;
  }
}
