// churner: the canonical allocation-heavy workload.
//
//   churner [R]    run R rounds (default 1000). Each round allocates a
//                  Uint8Array of pseudo-random size (256 B .. ~128 KiB,
//                  log-uniform), fills it, and stores it into one of SLOTS
//                  live slots; the array it replaces becomes garbage for the
//                  incremental GC. Before a live array is dropped its contents
//                  are checked (a corrupted heap aborts with exit 134).
//
// Before a checked array is dropped it is erased with maxwell.discard (docs/abi.md),
// which zeroes it and pays the node's entropy tax on its bytes: the churner is the
// agent that erases the most, so it pays the most tax.
//
// Output: churner: rounds=<R> allocated_bytes=<total> discarded_bytes=<D> peak_pages=<memory.size>
// (linear memory never shrinks, so memory.size at the end is the peak).

import { println, eprintln, exit, getArgs, parseCount } from "../lib/wasi";
import { XorShift32 } from "../lib/random";
import { discard } from "../lib/maxwell";

const SLOTS = 32;
const DEFAULT_ROUNDS: i64 = 1000;

// A fixed seed: the run is deterministic.
const rng = new XorShift32(0x9e3779b9);

function churn(rounds: i64): void {
  const live = new Array<Uint8Array | null>(SLOTS);
  const tags = new StaticArray<u8>(SLOTS);
  let allocated: u64 = 0;
  let discarded: u64 = 0;
  for (let r: i64 = 0; r < rounds; r++) {
    const slot = <i32>(rng.next() % <u32>SLOTS);
    const old = live[slot];
    if (old !== null) {
      const t = tags[slot];
      const n = old.length;
      // Touch the old buffer: sample every 4 KiB and both ends.
      for (let i = 0; i < n; i += 4096) {
        if (old[i] != t) abort("churner: heap corruption");
      }
      if (old[n - 1] != t) abort("churner: heap corruption");
      if (discard(old.dataStart, <usize>n) == 0) discarded += <u64>n;
    }
    const shift = 8 + rng.next() % 9; // 256 B .. 64 KiB
    const size = <i32>((1 << shift) + (rng.next() & ((1 << shift) - 1)));
    const buf = new Uint8Array(size);
    const tag = <u8>(r & 0xff);
    buf.fill(tag); // touch every byte
    live[slot] = buf;
    tags[slot] = tag;
    allocated += <u64>size;
  }
  println(
    "churner: rounds=" + rounds.toString() +
    " allocated_bytes=" + allocated.toString() +
    " discarded_bytes=" + discarded.toString() +
    " peak_pages=" + memory.size().toString(),
  );
}

const args = getArgs();
let rounds = DEFAULT_ROUNDS;
if (args.length > 1) {
  rounds = parseCount(args[1]);
  if (rounds < 0) {
    eprintln("churner: bad round count '" + args[1] + "' (want a non-negative integer)");
    exit(2);
  }
}
churn(rounds);
