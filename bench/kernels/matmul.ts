// Benchmark kernel `matmul`: f64 dense matrix multiply C = A x B, n x n.
// Benchmark size and unmetered time: params.json (see README.md).
//
// No imports (built with `--runtime stub --use abort=`). Exports `memory` and
// `run(n)`. Work grows as n^3 (n^3 multiply-adds plus O(n^2) fill/checksum).
// All matrix stores are plain f64 stores (C is zeroed by the fill loop): the
// module uses no bulk-memory instructions.
//
// Fill (row-major, i = row, j = column, both 0-based):
//   A[i][j] = ((i * 7 + j * 3) % 17 - 8) / 8
//   B[i][j] = ((i * 5 + j * 11) % 13 - 6) / 4
// Every product is a multiple of 1/32 with |value| <= 3 and every partial sum
// a multiple of 1/32 below 2^53/32, so all arithmetic is exact and the result
// does not depend on summation order or fused/unfused multiply-adds: any
// correct implementation gives bit-identical C.
//
// Checksum: h = 0x811c9dc5; for each C[i][j] in row-major order, with
// lo/hi = low/high 32 bits of its IEEE-754 bit pattern:
//   h = imul(h ^ lo, 0x01000193); h = imul(h ^ hi, 0x01000193)
// returned as i32.
//
// n must be in 0..1024 (MAX_N); a larger or negative n traps (unreachable).
// The three matrices are stored densely (row stride n) from __heap_base up;
// run(n) grows the memory with memory.grow to fit 24 n^2 bytes (about
// 24 MiB at n = 1024, 4 MiB at n = 400) if it is not that large already.
// (A static buffer for n <= 256 would have been enough for the tests, but on
// Node 20 n = 256 takes only ~11 ms, far below a useful benchmark run.)

const MAX_N: i32 = 1024;

// Set by run(): where A, B and C start (16-byte aligned).
let A: usize = 0;
let B: usize = 0;
let C: usize = 0;

/** Lay out three n x n f64 matrices from __heap_base, growing memory as needed. */
function layout(n: i32): void {
  const bytes = (<usize>(n * n)) << 3;
  A = (__heap_base + 15) & ~(<usize>15);
  B = A + bytes;
  C = B + bytes;
  const end = C + bytes;
  const pages = <i32>((end + 0xffff) >>> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) unreachable();
}

@inline function at(m: usize, n: i32, i: i32, j: i32): usize {
  return m + ((<usize>(i * n + j)) << 3);
}

function fill(n: i32): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      store<f64>(at(A, n, i, j), <f64>((i * 7 + j * 3) % 17 - 8) * 0.125);
      store<f64>(at(B, n, i, j), <f64>((i * 5 + j * 11) % 13 - 6) * 0.25);
      store<f64>(at(C, n, i, j), 0.0);
    }
  }
}

/** C = A x B, i-k-j order (streams rows of B and C). */
function multiply(n: i32): void {
  for (let i = 0; i < n; i++) {
    const ci = at(C, n, i, 0);
    for (let k = 0; k < n; k++) {
      const aik = load<f64>(at(A, n, i, k));
      const bk = at(B, n, k, 0);
      for (let j = 0; j < n; j++) {
        const p = <usize>j << 3;
        store<f64>(ci + p, load<f64>(ci + p) + aik * load<f64>(bk + p));
      }
    }
  }
}

function checksum(n: i32): i32 {
  let h: u32 = 0x811c9dc5;
  const end = C + ((<usize>(n * n)) << 3);
  for (let p = C; p < end; p += 8) {
    const bits = load<u64>(p);
    h = (h ^ <u32>bits) * 0x01000193;
    h = (h ^ <u32>(bits >>> 32)) * 0x01000193;
  }
  return <i32>h;
}

/** Multiply two deterministic n x n matrices; returns a checksum of C. */
export function run(n: i32): i32 {
  if (n < 0 || n > MAX_N) unreachable();
  layout(n);
  fill(n);
  multiply(n);
  return checksum(n);
}
