// Benchmark kernel `sha256`: SHA-256 (FIPS 180-4) over an n-KiB message.
// Benchmark size and unmetered time: params.json (see README.md).
//
// No imports (built with `--runtime stub --use abort=`). Exports `memory`,
// `run(n)`, `selftest()` and `digest_ptr()`. Work grows linearly in n:
// 16 n + 1 compression-function calls (64-byte blocks) per run.
//
// The message is n * 1024 bytes; byte k is
//   PAT(k & 0xffff),  PAT(i) = (imul(i, 0x9e3779b1) >>> 24) & 0xff
// i.e. a fixed 64 KiB pattern (filled by run() itself, only as much of it as
// the message needs) repeated. Blocks are hashed straight out of the pattern
// buffer, so memory use is constant and a run is almost all compression.
//
// run(n) returns the first 32-bit word of the digest (big-endian, as i32) and
// leaves the whole 32-byte digest at digest_ptr(). n must be in 0..2097151
// (the byte length, n * 1024, must fit an i32); otherwise it traps.
//
// The compression function is fully unrolled: 64 straight-line rounds with
// the message schedule kept in 16 locals (no loops, no loads but the block's
// own 16 words). Adapted from agents/miner/sha256.ts (which loops).

const PATTERN_BYTES: i32 = 65536;
const PATTERN: usize = memory.data(PATTERN_BYTES, 16);
const H: usize = memory.data(32, 16); // chaining state, native-endian words
const DIGEST: usize = memory.data(32, 16); // big-endian digest bytes
const BLOCK: usize = memory.data(128, 16); // padding block(s)
const ABC: usize = memory.data<u8>([0x61, 0x62, 0x63]);
const ABC_DIGEST: usize = memory.data<u8>([
  0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
  0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
]);

// @ts-ignore: decorator
@inline function S0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
// @ts-ignore: decorator
@inline function S1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
// @ts-ignore: decorator
@inline function s0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
// @ts-ignore: decorator
@inline function s1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }
// @ts-ignore: decorator
@inline function ch(x: u32, y: u32, z: u32): u32 { return (x & y) ^ (~x & z); }
// @ts-ignore: decorator
@inline function maj(x: u32, y: u32, z: u32): u32 { return (x & y) ^ (x & z) ^ (y & z); }

function init(): void {
  store<u32>(H, 0x6a09e667, 0);
  store<u32>(H, 0xbb67ae85, 4);
  store<u32>(H, 0x3c6ef372, 8);
  store<u32>(H, 0xa54ff53a, 12);
  store<u32>(H, 0x510e527f, 16);
  store<u32>(H, 0x9b05688c, 20);
  store<u32>(H, 0x1f83d9ab, 24);
  store<u32>(H, 0x5be0cd19, 28);
}

/** Process the 64-byte block at `p`, updating the state at H. */
function compress(p: usize): void {
  let a = load<u32>(H, 0);
  let b = load<u32>(H, 4);
  let c = load<u32>(H, 8);
  let d = load<u32>(H, 12);
  let e = load<u32>(H, 16);
  let f = load<u32>(H, 20);
  let g = load<u32>(H, 24);
  let h = load<u32>(H, 28);
  let w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, w5: u32, w6: u32, w7: u32;
  let w8: u32, w9: u32, w10: u32, w11: u32, w12: u32, w13: u32, w14: u32, w15: u32;
  let t: u32;
  w0 = bswap<u32>(load<u32>(p, 0));
  t = h + S1(e) + ch(e, f, g) + 0x428a2f98 + w0; d += t; h = t + S0(a) + maj(a, b, c); // 0
  w1 = bswap<u32>(load<u32>(p, 4));
  t = g + S1(d) + ch(d, e, f) + 0x71374491 + w1; c += t; g = t + S0(h) + maj(h, a, b); // 1
  w2 = bswap<u32>(load<u32>(p, 8));
  t = f + S1(c) + ch(c, d, e) + 0xb5c0fbcf + w2; b += t; f = t + S0(g) + maj(g, h, a); // 2
  w3 = bswap<u32>(load<u32>(p, 12));
  t = e + S1(b) + ch(b, c, d) + 0xe9b5dba5 + w3; a += t; e = t + S0(f) + maj(f, g, h); // 3
  w4 = bswap<u32>(load<u32>(p, 16));
  t = d + S1(a) + ch(a, b, c) + 0x3956c25b + w4; h += t; d = t + S0(e) + maj(e, f, g); // 4
  w5 = bswap<u32>(load<u32>(p, 20));
  t = c + S1(h) + ch(h, a, b) + 0x59f111f1 + w5; g += t; c = t + S0(d) + maj(d, e, f); // 5
  w6 = bswap<u32>(load<u32>(p, 24));
  t = b + S1(g) + ch(g, h, a) + 0x923f82a4 + w6; f += t; b = t + S0(c) + maj(c, d, e); // 6
  w7 = bswap<u32>(load<u32>(p, 28));
  t = a + S1(f) + ch(f, g, h) + 0xab1c5ed5 + w7; e += t; a = t + S0(b) + maj(b, c, d); // 7
  w8 = bswap<u32>(load<u32>(p, 32));
  t = h + S1(e) + ch(e, f, g) + 0xd807aa98 + w8; d += t; h = t + S0(a) + maj(a, b, c); // 8
  w9 = bswap<u32>(load<u32>(p, 36));
  t = g + S1(d) + ch(d, e, f) + 0x12835b01 + w9; c += t; g = t + S0(h) + maj(h, a, b); // 9
  w10 = bswap<u32>(load<u32>(p, 40));
  t = f + S1(c) + ch(c, d, e) + 0x243185be + w10; b += t; f = t + S0(g) + maj(g, h, a); // 10
  w11 = bswap<u32>(load<u32>(p, 44));
  t = e + S1(b) + ch(b, c, d) + 0x550c7dc3 + w11; a += t; e = t + S0(f) + maj(f, g, h); // 11
  w12 = bswap<u32>(load<u32>(p, 48));
  t = d + S1(a) + ch(a, b, c) + 0x72be5d74 + w12; h += t; d = t + S0(e) + maj(e, f, g); // 12
  w13 = bswap<u32>(load<u32>(p, 52));
  t = c + S1(h) + ch(h, a, b) + 0x80deb1fe + w13; g += t; c = t + S0(d) + maj(d, e, f); // 13
  w14 = bswap<u32>(load<u32>(p, 56));
  t = b + S1(g) + ch(g, h, a) + 0x9bdc06a7 + w14; f += t; b = t + S0(c) + maj(c, d, e); // 14
  w15 = bswap<u32>(load<u32>(p, 60));
  t = a + S1(f) + ch(f, g, h) + 0xc19bf174 + w15; e += t; a = t + S0(b) + maj(b, c, d); // 15
  w0 += s1(w14) + w9 + s0(w1);
  t = h + S1(e) + ch(e, f, g) + 0xe49b69c1 + w0; d += t; h = t + S0(a) + maj(a, b, c); // 16
  w1 += s1(w15) + w10 + s0(w2);
  t = g + S1(d) + ch(d, e, f) + 0xefbe4786 + w1; c += t; g = t + S0(h) + maj(h, a, b); // 17
  w2 += s1(w0) + w11 + s0(w3);
  t = f + S1(c) + ch(c, d, e) + 0x0fc19dc6 + w2; b += t; f = t + S0(g) + maj(g, h, a); // 18
  w3 += s1(w1) + w12 + s0(w4);
  t = e + S1(b) + ch(b, c, d) + 0x240ca1cc + w3; a += t; e = t + S0(f) + maj(f, g, h); // 19
  w4 += s1(w2) + w13 + s0(w5);
  t = d + S1(a) + ch(a, b, c) + 0x2de92c6f + w4; h += t; d = t + S0(e) + maj(e, f, g); // 20
  w5 += s1(w3) + w14 + s0(w6);
  t = c + S1(h) + ch(h, a, b) + 0x4a7484aa + w5; g += t; c = t + S0(d) + maj(d, e, f); // 21
  w6 += s1(w4) + w15 + s0(w7);
  t = b + S1(g) + ch(g, h, a) + 0x5cb0a9dc + w6; f += t; b = t + S0(c) + maj(c, d, e); // 22
  w7 += s1(w5) + w0 + s0(w8);
  t = a + S1(f) + ch(f, g, h) + 0x76f988da + w7; e += t; a = t + S0(b) + maj(b, c, d); // 23
  w8 += s1(w6) + w1 + s0(w9);
  t = h + S1(e) + ch(e, f, g) + 0x983e5152 + w8; d += t; h = t + S0(a) + maj(a, b, c); // 24
  w9 += s1(w7) + w2 + s0(w10);
  t = g + S1(d) + ch(d, e, f) + 0xa831c66d + w9; c += t; g = t + S0(h) + maj(h, a, b); // 25
  w10 += s1(w8) + w3 + s0(w11);
  t = f + S1(c) + ch(c, d, e) + 0xb00327c8 + w10; b += t; f = t + S0(g) + maj(g, h, a); // 26
  w11 += s1(w9) + w4 + s0(w12);
  t = e + S1(b) + ch(b, c, d) + 0xbf597fc7 + w11; a += t; e = t + S0(f) + maj(f, g, h); // 27
  w12 += s1(w10) + w5 + s0(w13);
  t = d + S1(a) + ch(a, b, c) + 0xc6e00bf3 + w12; h += t; d = t + S0(e) + maj(e, f, g); // 28
  w13 += s1(w11) + w6 + s0(w14);
  t = c + S1(h) + ch(h, a, b) + 0xd5a79147 + w13; g += t; c = t + S0(d) + maj(d, e, f); // 29
  w14 += s1(w12) + w7 + s0(w15);
  t = b + S1(g) + ch(g, h, a) + 0x06ca6351 + w14; f += t; b = t + S0(c) + maj(c, d, e); // 30
  w15 += s1(w13) + w8 + s0(w0);
  t = a + S1(f) + ch(f, g, h) + 0x14292967 + w15; e += t; a = t + S0(b) + maj(b, c, d); // 31
  w0 += s1(w14) + w9 + s0(w1);
  t = h + S1(e) + ch(e, f, g) + 0x27b70a85 + w0; d += t; h = t + S0(a) + maj(a, b, c); // 32
  w1 += s1(w15) + w10 + s0(w2);
  t = g + S1(d) + ch(d, e, f) + 0x2e1b2138 + w1; c += t; g = t + S0(h) + maj(h, a, b); // 33
  w2 += s1(w0) + w11 + s0(w3);
  t = f + S1(c) + ch(c, d, e) + 0x4d2c6dfc + w2; b += t; f = t + S0(g) + maj(g, h, a); // 34
  w3 += s1(w1) + w12 + s0(w4);
  t = e + S1(b) + ch(b, c, d) + 0x53380d13 + w3; a += t; e = t + S0(f) + maj(f, g, h); // 35
  w4 += s1(w2) + w13 + s0(w5);
  t = d + S1(a) + ch(a, b, c) + 0x650a7354 + w4; h += t; d = t + S0(e) + maj(e, f, g); // 36
  w5 += s1(w3) + w14 + s0(w6);
  t = c + S1(h) + ch(h, a, b) + 0x766a0abb + w5; g += t; c = t + S0(d) + maj(d, e, f); // 37
  w6 += s1(w4) + w15 + s0(w7);
  t = b + S1(g) + ch(g, h, a) + 0x81c2c92e + w6; f += t; b = t + S0(c) + maj(c, d, e); // 38
  w7 += s1(w5) + w0 + s0(w8);
  t = a + S1(f) + ch(f, g, h) + 0x92722c85 + w7; e += t; a = t + S0(b) + maj(b, c, d); // 39
  w8 += s1(w6) + w1 + s0(w9);
  t = h + S1(e) + ch(e, f, g) + 0xa2bfe8a1 + w8; d += t; h = t + S0(a) + maj(a, b, c); // 40
  w9 += s1(w7) + w2 + s0(w10);
  t = g + S1(d) + ch(d, e, f) + 0xa81a664b + w9; c += t; g = t + S0(h) + maj(h, a, b); // 41
  w10 += s1(w8) + w3 + s0(w11);
  t = f + S1(c) + ch(c, d, e) + 0xc24b8b70 + w10; b += t; f = t + S0(g) + maj(g, h, a); // 42
  w11 += s1(w9) + w4 + s0(w12);
  t = e + S1(b) + ch(b, c, d) + 0xc76c51a3 + w11; a += t; e = t + S0(f) + maj(f, g, h); // 43
  w12 += s1(w10) + w5 + s0(w13);
  t = d + S1(a) + ch(a, b, c) + 0xd192e819 + w12; h += t; d = t + S0(e) + maj(e, f, g); // 44
  w13 += s1(w11) + w6 + s0(w14);
  t = c + S1(h) + ch(h, a, b) + 0xd6990624 + w13; g += t; c = t + S0(d) + maj(d, e, f); // 45
  w14 += s1(w12) + w7 + s0(w15);
  t = b + S1(g) + ch(g, h, a) + 0xf40e3585 + w14; f += t; b = t + S0(c) + maj(c, d, e); // 46
  w15 += s1(w13) + w8 + s0(w0);
  t = a + S1(f) + ch(f, g, h) + 0x106aa070 + w15; e += t; a = t + S0(b) + maj(b, c, d); // 47
  w0 += s1(w14) + w9 + s0(w1);
  t = h + S1(e) + ch(e, f, g) + 0x19a4c116 + w0; d += t; h = t + S0(a) + maj(a, b, c); // 48
  w1 += s1(w15) + w10 + s0(w2);
  t = g + S1(d) + ch(d, e, f) + 0x1e376c08 + w1; c += t; g = t + S0(h) + maj(h, a, b); // 49
  w2 += s1(w0) + w11 + s0(w3);
  t = f + S1(c) + ch(c, d, e) + 0x2748774c + w2; b += t; f = t + S0(g) + maj(g, h, a); // 50
  w3 += s1(w1) + w12 + s0(w4);
  t = e + S1(b) + ch(b, c, d) + 0x34b0bcb5 + w3; a += t; e = t + S0(f) + maj(f, g, h); // 51
  w4 += s1(w2) + w13 + s0(w5);
  t = d + S1(a) + ch(a, b, c) + 0x391c0cb3 + w4; h += t; d = t + S0(e) + maj(e, f, g); // 52
  w5 += s1(w3) + w14 + s0(w6);
  t = c + S1(h) + ch(h, a, b) + 0x4ed8aa4a + w5; g += t; c = t + S0(d) + maj(d, e, f); // 53
  w6 += s1(w4) + w15 + s0(w7);
  t = b + S1(g) + ch(g, h, a) + 0x5b9cca4f + w6; f += t; b = t + S0(c) + maj(c, d, e); // 54
  w7 += s1(w5) + w0 + s0(w8);
  t = a + S1(f) + ch(f, g, h) + 0x682e6ff3 + w7; e += t; a = t + S0(b) + maj(b, c, d); // 55
  w8 += s1(w6) + w1 + s0(w9);
  t = h + S1(e) + ch(e, f, g) + 0x748f82ee + w8; d += t; h = t + S0(a) + maj(a, b, c); // 56
  w9 += s1(w7) + w2 + s0(w10);
  t = g + S1(d) + ch(d, e, f) + 0x78a5636f + w9; c += t; g = t + S0(h) + maj(h, a, b); // 57
  w10 += s1(w8) + w3 + s0(w11);
  t = f + S1(c) + ch(c, d, e) + 0x84c87814 + w10; b += t; f = t + S0(g) + maj(g, h, a); // 58
  w11 += s1(w9) + w4 + s0(w12);
  t = e + S1(b) + ch(b, c, d) + 0x8cc70208 + w11; a += t; e = t + S0(f) + maj(f, g, h); // 59
  w12 += s1(w10) + w5 + s0(w13);
  t = d + S1(a) + ch(a, b, c) + 0x90befffa + w12; h += t; d = t + S0(e) + maj(e, f, g); // 60
  w13 += s1(w11) + w6 + s0(w14);
  t = c + S1(h) + ch(h, a, b) + 0xa4506ceb + w13; g += t; c = t + S0(d) + maj(d, e, f); // 61
  w14 += s1(w12) + w7 + s0(w15);
  t = b + S1(g) + ch(g, h, a) + 0xbef9a3f7 + w14; f += t; b = t + S0(c) + maj(c, d, e); // 62
  w15 += s1(w13) + w8 + s0(w0);
  t = a + S1(f) + ch(f, g, h) + 0xc67178f2 + w15; e += t; a = t + S0(b) + maj(b, c, d); // 63
  store<u32>(H, load<u32>(H, 0) + a, 0);
  store<u32>(H, load<u32>(H, 4) + b, 4);
  store<u32>(H, load<u32>(H, 8) + c, 8);
  store<u32>(H, load<u32>(H, 12) + d, 12);
  store<u32>(H, load<u32>(H, 16) + e, 16);
  store<u32>(H, load<u32>(H, 20) + f, 20);
  store<u32>(H, load<u32>(H, 24) + g, 24);
  store<u32>(H, load<u32>(H, 28) + h, 28);
}

/**
 * Pad and finish: `tail` holds the last `tailLen` (< 64) message bytes, `len`
 * is the whole message length in bytes. Writes the digest to DIGEST.
 */
function finish(tail: usize, tailLen: i32, len: u32): void {
  for (let i = 0; i < 128; i++) store<u8>(BLOCK + <usize>i, 0);
  for (let i = 0; i < tailLen; i++) store<u8>(BLOCK + <usize>i, load<u8>(tail + <usize>i));
  store<u8>(BLOCK + <usize>tailLen, 0x80);
  const blocks: usize = tailLen < 56 ? 1 : 2;
  // 64-bit big-endian bit length.
  store<u64>(BLOCK + (blocks << 6) - 8, bswap<u64>(<u64>len << 3));
  compress(BLOCK);
  if (blocks == 2) compress(BLOCK + 64);
  for (let i = 0; i < 8; i++) {
    store<u32>(DIGEST + (<usize>i << 2), bswap<u32>(load<u32>(H + (<usize>i << 2))));
  }
}

/** SHA-256 of `len` contiguous bytes at `data`, into DIGEST. */
function hash(data: usize, len: i32): void {
  init();
  let off = 0;
  while (len - off >= 64) {
    compress(data + <usize>off);
    off += 64;
  }
  finish(data + <usize>off, len - off, <u32>len);
}

/** SHA-256 of the n-KiB pattern message; returns digest word 0 (big-endian). */
export function run(n: i32): i32 {
  if (n < 0 || n >= 0x200000) unreachable();
  const len = n << 10;
  const fillLen = len < PATTERN_BYTES ? len : PATTERN_BYTES;
  for (let i = 0; i < fillLen; i++) {
    store<u8>(PATTERN + <usize>i, <u8>((<u32>i * 0x9e3779b1) >>> 24));
  }
  init();
  for (let off = 0; off < len; off += 64) {
    compress(PATTERN + <usize>(off & (PATTERN_BYTES - 1)));
  }
  finish(PATTERN, 0, <u32>len);
  return <i32>bswap<u32>(load<u32>(DIGEST));
}

/** Where the last digest (32 bytes, big-endian) is. */
export function digest_ptr(): usize {
  return DIGEST;
}

/** 1 if SHA-256("abc") is right (FIPS 180-4 example), else 0. */
export function selftest(): i32 {
  hash(ABC, 3);
  for (let i = 0; i < 32; i++) {
    if (load<u8>(DIGEST + <usize>i) != load<u8>(ABC_DIGEST + <usize>i)) return 0;
  }
  return 1;
}
