import { getArgs, parseCount, println } from "../lib/wasi";

// looper: the canonical useless workload. Spins forever doing trivial
// arithmetic and never exits; the runtime kills it when its energy runs out.
// Each iteration stores to linear memory (which is exported), so the
// optimiser cannot remove the work.
//
//   looper        loop forever (the default: what the node must starve)
//   looper N      loop N times, print `looper: iterations=N` and exit (for the
//                 cost-table fit and the benchmarks, which need it to end)

const CELL: usize = memory.data(16); // [0]: LCG state (u64), [8]: iteration count (u64)

/**
 * Maxwell's death notice (docs/abi.md): run on a small grace of fuel when the
 * node kills the looper for not paying. Prints `looper: death notice after N iterations`.
 */
export function maxwell_apoptosis(): void {
  println("looper: death notice after " + load<i64>(CELL + 8).toString() + " iterations");
}

const args = getArgs();
const limit: i64 = args.length > 1 ? parseCount(args[1]) : -1;

while (limit < 0 || load<i64>(CELL + 8) < limit) {
  const x = load<u64>(CELL);
  store<u64>(CELL, x * 6364136223846793005 + 1442695040888963407);
  store<u64>(CELL + 8, load<u64>(CELL + 8) + 1);
}
println("looper: iterations=" + load<i64>(CELL + 8).toString());
