/**
 * The kernel's rates and limits, in one place, with the reasons for their defaults
 * (`maxwell config` shows them). All money is integer µJ of tokens (1 token = 1 J); rates that
 * yield fractions of a µJ are applied to whole amounts and rounded up (a charge never rounds
 * to zero in the payer's favour).
 *
 * The entropy tax is a policy rate, and `maxwell config` shows it beside the physical floor it
 * stands for: Landauer's bound, kT·ln 2 joules to erase one bit at temperature T. At room
 * temperature that is ~2.9 × 10⁻²¹ J per bit; real memory spends ~10¹¹ times more (zeroing a
 * byte moves it through the cache hierarchy at a few nJ per byte). The default tax is of that
 * practical order, not of Landauer's: the floor is shown so that nobody mistakes the policy for
 * physics.
 */
import { ErrorCode, MaxwellError } from '../errors.js';

/** Boltzmann's constant (J/K), exact since the 2019 SI redefinition. */
export const BOLTZMANN_J_PER_K = 1.380649e-23;
export const ZERO_CELSIUS_K = 273.15;

/** Landauer's bound: the least energy (J) to erase one bit at `tempC`. */
export function landauerJPerBit(tempC: number): number {
  if (!Number.isFinite(tempC) || tempC <= -ZERO_CELSIUS_K) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a temperature must be above absolute zero, not ${tempC} °C`);
  return BOLTZMANN_J_PER_K * (tempC + ZERO_CELSIUS_K) * Math.LN2;
}

export interface KernelConfig {
  /** One slot: a worker for this long (ms). */
  quantumMs: number;
  /** The node's power cap (W); the reserve price rises as the node nears it (power-cap.ts). */
  powerCapW: number;
  /** Reserve price when the node is quiet (tokens/J). */
  basePriceTokensPerJ: number;
  /** Rent every live process pays, running or not (µJ per second). */
  baseRentUjPerS: number;
  /** Rent for memory (µJ per MiB per second). */
  memoryRentUjPerMiBS: number;
  /** The entropy tax on erasing memory (µJ per byte erased, may be fractional). */
  erasureTaxUjPerByte: number;
  /** Fuel a dying process's `maxwell_apoptosis` export may use. */
  graceFuel: number;
  /** Rent accrues every second and is charged in one entry per process every this many ms. */
  rentPeriodMs: number;
}

export const DEFAULT_KERNEL_CONFIG: Readonly<KernelConfig> = Object.freeze({
  // 5 ms: long against a process switch (~0.6 µs measured, docs/design.md) and the market's
  // clearing (~0.5 µs), short against a person waiting.
  quantumMs: 5,
  powerCapW: 100,
  basePriceTokensPerJ: 1,
  // The node's cost of keeping a process: its table entry, its standing bid, its share of the
  // scheduler. Small, but not zero, so that an idle process with no memory still dies when
  // broke: 10 µJ/s (10 µW).
  baseRentUjPerS: 10,
  // DRAM draws ~3 W per 8 GiB module with refresh and background power (the order of DDR4
  // datasheet and power-calculator figures), ~0.37 mW per MiB: 400 µJ per MiB·s, rounded up.
  memoryRentUjPerMiBS: 400,
  // Zeroing memory costs ~1 nJ per byte on a server core (~7 W at ~10 GB/s): 0.001 µJ per byte.
  erasureTaxUjPerByte: 0.001,
  graceFuel: 1_000_000,
  // Rent is a rate per second, charged in arrears every 5 s: one ledger entry per process per
  // period (at 1,000 processes, 200 entries/s instead of 1,000; rent entries were most of the
  // kernel's tick time), and a process that cannot pay its rent dies at most 5 s late.
  rentPeriodMs: 5_000,
});

/** Checks a config from a user (file or flags); returns the first problem, or undefined. */
export function validateKernelConfig(c: KernelConfig): string | undefined {
  const pos = (x: number) => Number.isFinite(x) && x > 0;
  const nonneg = (x: number) => Number.isFinite(x) && x >= 0;
  if (!pos(c.quantumMs) || c.quantumMs > 10_000) return `quantumMs must be in (0, 10000], not ${c.quantumMs}`;
  if (!pos(c.powerCapW) || c.powerCapW > 1e6) return `powerCapW must be in (0, 10^6] W, not ${c.powerCapW}`;
  if (!pos(c.basePriceTokensPerJ)) return `basePriceTokensPerJ must be positive, not ${c.basePriceTokensPerJ}`;
  if (!nonneg(c.baseRentUjPerS) || !nonneg(c.memoryRentUjPerMiBS) || !nonneg(c.erasureTaxUjPerByte)) return 'rents and taxes must be finite and ≥ 0';
  if (!Number.isInteger(c.graceFuel) || c.graceFuel < 0 || c.graceFuel > 1e12) return `graceFuel must be an integer in [0, 10^12], not ${c.graceFuel}`;
  if (!Number.isInteger(c.rentPeriodMs) || c.rentPeriodMs < 1 || c.rentPeriodMs > 3_600_000) return `rentPeriodMs must be an integer in [1, 3600000], not ${c.rentPeriodMs}`;
  return undefined;
}

/** Rent due (µJ, rounded up) for `periodMs` of a process holding `memoryBytes`. */
export function rentDueUj(c: KernelConfig, periodMs: number, memoryBytes: number): number {
  const mib = memoryBytes / 2 ** 20;
  return Math.ceil(((c.baseRentUjPerS + c.memoryRentUjPerMiBS * mib) * periodMs) / 1000);
}

/**
 * Rent due (µJ, rounded up) for `periodMs` during which the process held `memoryByteMs` byte·ms
 * of memory (its memory integrated over the period: a grow late in a period pays for the time
 * it was held, not for the whole period).
 */
export function rentDueForUj(c: KernelConfig, periodMs: number, memoryByteMs: number): number {
  return Math.ceil((c.baseRentUjPerS * periodMs + (c.memoryRentUjPerMiBS * memoryByteMs) / 2 ** 20) / 1000);
}

/** The entropy tax (µJ, rounded up) for erasing `bytes`. */
export function erasureTaxUj(c: KernelConfig, bytes: number): number {
  return Math.ceil(bytes * c.erasureTaxUjPerByte);
}
