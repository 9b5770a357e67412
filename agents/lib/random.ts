// xorshift32 (Marsaglia, 2003): a tiny deterministic generator for the sample agents, so that
// every run of an agent does the same work (the tests and the benchmarks rely on it).

export class XorShift32 {
  private state: u32;

  constructor(seed: u32) {
    this.state = seed != 0 ? seed : 0x9e3779b9; // xorshift's state must not be 0
  }

  next(): u32 {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x;
  }
}
