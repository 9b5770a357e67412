// miner: proof-of-work, the canonical "busy but useless" workload.
//
//   miner [D]          find the smallest nonce n >= 0 such that
//                      SHA-256(PREFIX || u64be(n)) has at least D leading zero
//                      bits (D in 0..64, default 16); print it and exit 0.
//   miner --selftest   print the hex SHA-256 of "abc" and exit 0.
//
// PREFIX is the 14 ASCII bytes "maxwell-miner:"; the nonce is appended as
// 8 bytes, big-endian. Output:
//   miner: nonce=<n> hash=<hex> bits=<D> hashes=<count>
//
// On a Maxwell node, a miner that can no longer pay is sent a death notice
// (its export maxwell_apoptosis runs on a small grace of fuel); it prints
//   miner: death notice after <count> hashes, no nonce found

import { println, eprintln, exit, getArgs, parseCount } from "../lib/wasi";
import { sha256, leadingZeroBits, toHex } from "./sha256";

const PREFIX = "maxwell-miner:";
const DEFAULT_BITS: i64 = 16;
const MAX_BITS: i64 = 64;

const DIGEST: usize = memory.data(32);
// Hashes so far, in memory so that the death notice can report them.
const HASHES: usize = memory.data(8);

/** Maxwell's death notice (docs/abi.md): say how far the search got. */
export function maxwell_apoptosis(): void {
  println("miner: death notice after " + load<u64>(HASHES).toString() + " hashes, no nonce found");
}

function selftest(): void {
  const msg = String.UTF8.encode("abc");
  sha256(changetype<usize>(msg), <usize>msg.byteLength, DIGEST);
  println(toHex(DIGEST, 32));
}

function mine(bits: i32): void {
  const prefix = String.UTF8.encode(PREFIX);
  const plen = <usize>prefix.byteLength;
  const msgLen = plen + 8;
  const msg = new ArrayBuffer(<i32>msgLen);
  const m = changetype<usize>(msg);
  memory.copy(m, changetype<usize>(prefix), plen);
  let nonce: u64 = 0;
  let hashes: u64 = 0;
  while (true) {
    store<u64>(m + plen, bswap<u64>(nonce));
    sha256(m, msgLen, DIGEST);
    hashes++;
    store<u64>(HASHES, hashes);
    if (leadingZeroBits(DIGEST) >= bits) break;
    nonce++;
  }
  println(
    "miner: nonce=" + nonce.toString() +
    " hash=" + toHex(DIGEST, 32) +
    " bits=" + bits.toString() +
    " hashes=" + hashes.toString(),
  );
}

const args = getArgs();
if (args.length > 1 && args[1] == "--selftest") {
  selftest();
} else {
  let bits = DEFAULT_BITS;
  if (args.length > 1) {
    bits = parseCount(args[1]);
    if (bits < 0 || bits > MAX_BITS) {
      eprintln("miner: bad difficulty '" + args[1] + "' (want an integer 0.." + MAX_BITS.toString() + ")");
      exit(2);
    }
  }
  mine(<i32>bits);
}
