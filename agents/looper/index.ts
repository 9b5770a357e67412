import "../lib/wasi"; // provides the abort handler (see build-agents.js)

// looper: the canonical useless workload. Spins forever doing trivial
// arithmetic and never exits; the runtime kills it when its energy runs out.
// Each iteration stores to linear memory (which is exported), so the
// optimiser cannot remove the work.

const CELL: usize = memory.data(16); // [0]: LCG state (u64), [8]: iteration count (u64)

while (true) {
  const x = load<u64>(CELL);
  store<u64>(CELL, x * 6364136223846793005 + 1442695040888963407);
  store<u64>(CELL + 8, load<u64>(CELL + 8) + 1);
}
