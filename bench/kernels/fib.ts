// Benchmark kernel `fib`: naive doubly recursive Fibonacci, call-heavy.
// Benchmark size and unmetered time: params.json (see README.md).
//
// No imports (built with `--runtime stub --use abort=`). Exports `memory`,
// `run(n)` and `calls()`. run(n) returns fib(n) (fib(0) = 0, fib(1) = 1,
// i32 arithmetic, exact for n <= 46; it wraps beyond) and makes exactly
// 2 * fib(n + 1) - 1 calls of `fib` (one per node of the call tree), so the
// work grows as ~1.618^n. n < 0 returns n after one call.
//
// Every call increments a mutable global (`calls()` reads it after a run).
// Besides letting the tests check the call count, the side effect keeps the
// optimiser from memoising, unrolling or turning the recursion into a loop:
// binaryen -O3 leaves two real `call`s per node (the build test checks this).

let count: i32 = 0;

function fib(n: i32): i32 {
  count++;
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}

/** fib(n) by naive recursion. */
export function run(n: i32): i32 {
  count = 0;
  return fib(n);
}

/** Number of `fib` calls made by the last run(). */
export function calls(): i32 {
  return count;
}
