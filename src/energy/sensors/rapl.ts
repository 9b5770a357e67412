/**
 * RAPL (Running Average Power Limit) energy counters, read through the Linux powercap
 * framework.
 *
 * Layout (Documentation/power/powercap/powercap.rst, ABI sysfs-class-powercap):
 *
 *   /sys/class/powercap/intel-rapl            the control type (no counter of its own)
 *   /sys/class/powercap/intel-rapl:0          a zone: one per CPU package
 *       name                  "package-0"     (also "psys" on platforms with a platform zone)
 *       energy_uj             cumulative energy in µJ; root-only since Linux 5.10 (CVE-2020-8694)
 *       max_energy_range_uj   the value after which energy_uj wraps back to 0
 *   /sys/class/powercap/intel-rapl:0:0        a subzone of package 0: "core", "uncore" or "dram"
 *
 * The kernel also links every zone flat into /sys/class/powercap, so listing that directory
 * finds the subzones too. AMD processors use the same `intel-rapl` driver and names; the
 * `amd-rapl` prefix is accepted in case a kernel names it so. `intel-rapl-mmio:*` zones are
 * deliberately ignored: they expose the same package counter through MMIO, and reading both
 * would count the package twice.
 *
 * What the total sums (no double counting): every top-level `package-*` zone plus every zone
 * named `dram`. `core` (PP0) and `uncore` (PP1, the integrated GPU) are parts of the package
 * and are reported but not summed. DRAM is powered outside the package, so it is added. `psys`
 * (the whole platform, which contains the packages) is reported but not summed.
 *
 * Wrap-around: energy_uj counts up to max_energy_range_uj (about 262 kJ on most parts, which a
 * 200 W package spends in about 22 minutes) and starts again from 0. Two readings `prev`, `now`
 * give `delta = (now - prev + max_range) % max_range`, exact in integer µJ as long as the
 * counter wrapped at most once between them: sample more often than the wrap period.
 * (The hardware counter really steps from max_range to 0 by one energy unit, about 61 µJ, so
 * one wrap can under-count by that unit; this is far below anything the ledger charges.)
 */
import { assert } from '../../assert.js';
import { ErrorCode, MaxwellError, isMaxwellError } from '../../errors.js';
import type { EnergyCounterReading, EnergyReading, PowerReading, SensorProblem } from './reading.js';
import {
  attributeExists,
  listEntries,
  readInteger,
  readLine,
  sensorUnreadable,
  sysClassPath,
  tolerate,
} from './sysfs.js';
import { join } from 'node:path';

const ZONE_ID = /^(intel-rapl|amd-rapl):([0-9]+)(?::([0-9]+))?$/;

export interface RaplZone {
  /** The powercap zone's directory name: `intel-rapl:0`, `intel-rapl:0:2`. */
  id: string;
  /** The zone's own name: `package-0`, `core`, `uncore`, `dram`, `psys`. */
  name: string;
  /** The parent zone's id for a subzone, `undefined` for a top-level zone. */
  parentId: string | undefined;
  /** The directory the zone's files are in. */
  path: string;
  maxRangeUj: bigint;
  /** Whether this zone's energy is part of the node total (see the rule at the top). */
  summed: boolean;
}

export interface RaplCounterReading extends EnergyCounterReading {
  source: 'measured';
  maxRangeUj: bigint;
  summed: boolean;
}

export interface RaplSample {
  /** When the counters were read, on the meter's monotonic clock. */
  atNs: bigint;
  counters: RaplCounterReading[];
}

export interface RaplZoneEnergy extends EnergyReading, PowerReading {
  source: 'measured';
  /** The same energy in joules, for people; `energyUj` is the exact figure. */
  energyJ: number;
  /** The counter wrapped between the two samples (and was corrected for). */
  wrapped: boolean;
  summed: boolean;
}

export interface RaplInterval {
  durationMs: number;
  zones: RaplZoneEnergy[];
  /** The sum over the summed zones, or `undefined` when no summed zone was read. */
  total: (EnergyReading & PowerReading & { source: 'measured'; energyJ: number; zones: string[] }) | undefined;
}

/** Lists the RAPL zones that have an energy counter; `[]` on a machine without RAPL. */
export async function listRaplZones(root = '/', problems?: SensorProblem[]): Promise<RaplZone[]> {
  const dir = sysClassPath(root, 'powercap');
  const zones: RaplZone[] = [];
  for (const id of await listEntries(dir, ZONE_ID)) {
    const zone = await tolerate(problems, id, () => readZone(dir, id));
    if (zone !== undefined) zones.push(zone);
  }
  markSummed(zones);
  return zones;
}

async function readZone(dir: string, id: string): Promise<RaplZone | undefined> {
  const path = join(dir, id);
  if (!(await attributeExists(join(path, 'energy_uj')))) return undefined;
  const name = (await readLine(join(path, 'name')))?.trim();
  if (name === undefined || name === '') {
    throw sensorUnreadable(join(path, 'name'), 'malformed', 'a RAPL zone with an energy counter has no name');
  }
  const maxRangeFile = join(path, 'max_energy_range_uj');
  const maxRangeUj = await readInteger(maxRangeFile);
  if (maxRangeUj === undefined || maxRangeUj <= 0n) {
    throw sensorUnreadable(maxRangeFile, 'malformed', 'a RAPL zone needs a positive max_energy_range_uj to correct wrap-around');
  }
  // Every RAPL counter the kernel exposes is a 32-bit count of energy units of at most a
  // joule or so; a range past 2^53 µJ would make the µJ deltas unsafe as numbers.
  if (maxRangeUj > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw sensorUnreadable(maxRangeFile, 'malformed', `max_energy_range_uj ${maxRangeUj} is implausibly large`);
  }
  const match = ZONE_ID.exec(id);
  assert(match !== null, 'listEntries returned only zone ids');
  const parentId = match[3] === undefined ? undefined : `${match[1]}:${match[2]}`;
  return { id, name, parentId, path, maxRangeUj, summed: false };
}

function markSummed(zones: RaplZone[]): void {
  for (const zone of zones) {
    const isPackage = zone.parentId === undefined && zone.name.startsWith('package');
    zone.summed = isPackage || zone.name === 'dram';
  }
}

/** Reads one zone's counter; throws `E_SENSOR_UNREADABLE` (naming the file) when it cannot. */
export async function readRaplCounter(zone: RaplZone): Promise<RaplCounterReading> {
  const file = join(zone.path, 'energy_uj');
  let counterUj: bigint | undefined;
  try {
    counterUj = await readInteger(file);
  } catch (err) {
    if (isMaxwellError(err, ErrorCode.SENSOR_UNREADABLE) && err.detail['reason'] === 'permission') {
      throw new MaxwellError(
        ErrorCode.SENSOR_UNREADABLE,
        `${file}: permission denied (energy_uj is readable only by root since Linux 5.10; run as root or grant read access)`,
        err.detail,
      );
    }
    throw err;
  }
  if (counterUj === undefined) throw sensorUnreadable(file, 'io', 'the zone disappeared');
  if (counterUj < 0n || counterUj > zone.maxRangeUj) {
    throw sensorUnreadable(file, 'malformed', `counter ${counterUj} is outside [0, max_energy_range_uj = ${zone.maxRangeUj}]`);
  }
  return {
    sensor: zone.id,
    source: 'measured',
    label: zone.name,
    counterUj,
    maxRangeUj: zone.maxRangeUj,
    summed: zone.summed,
  };
}

/**
 * The energy between two readings of a counter that wraps at `maxRangeUj`, in µJ.
 * Both readings must be in [0, maxRangeUj] (the reader checks this), and the counter must have
 * wrapped at most once between them.
 */
export function raplDeltaUj(prevUj: bigint, nowUj: bigint, maxRangeUj: bigint): bigint {
  assert(maxRangeUj > 0n, 'RAPL max range is positive');
  assert(prevUj >= 0n && prevUj <= maxRangeUj, 'previous RAPL reading is within range');
  assert(nowUj >= 0n && nowUj <= maxRangeUj, 'current RAPL reading is within range');
  const deltaUj = (nowUj - prevUj + maxRangeUj) % maxRangeUj;
  assert(deltaUj >= 0n && deltaUj < maxRangeUj, 'RAPL delta is within one range');
  return deltaUj;
}

/**
 * The energy and average power of every zone between two samples. Zones missing from either
 * sample are left out, never reported as 0.
 */
export function raplInterval(prev: RaplSample, next: RaplSample): RaplInterval {
  assert(next.atNs > prev.atNs, 'the second RAPL sample was taken after the first');
  const durationNs = Number(next.atNs - prev.atNs);
  const durationMs = durationNs / 1e6;
  const before = new Map(prev.counters.map((c) => [c.sensor, c]));
  const zones: RaplZoneEnergy[] = [];
  for (const now of next.counters) {
    const then = before.get(now.sensor);
    if (then === undefined) continue;
    assert(then.maxRangeUj === now.maxRangeUj, `RAPL zone ${now.sensor} kept its range`);
    const energyUj = Number(raplDeltaUj(then.counterUj, now.counterUj, now.maxRangeUj));
    const zone: RaplZoneEnergy = {
      sensor: now.sensor,
      source: 'measured',
      energyUj,
      energyJ: energyUj / 1e6,
      durationMs,
      // µJ per ns is kW: 1e-6 J / 1e-9 s = 1e3 W.
      powerW: (energyUj * 1e3) / durationNs,
      wrapped: now.counterUj < then.counterUj,
      summed: now.summed,
    };
    if (now.label !== undefined) zone.label = now.label;
    zones.push(zone);
  }
  const summed = zones.filter((z) => z.summed);
  let total: RaplInterval['total'];
  if (summed.length > 0) {
    const energyUj = summed.reduce((sum, z) => sum + z.energyUj, 0);
    total = {
      sensor: 'rapl:total',
      source: 'measured',
      label: 'packages + dram',
      energyUj,
      energyJ: energyUj / 1e6,
      durationMs,
      powerW: (energyUj * 1e3) / durationNs,
      zones: summed.map((z) => z.sensor),
    };
  }
  return { durationMs, zones, total };
}

export interface RaplMeterInit {
  root?: string;
  /** A monotonic clock in nanoseconds; tests pass a fake one. */
  clockNs?: () => bigint;
}

/**
 * Samples every RAPL zone of the node. Take a sample, do the work, take another, and
 * `interval(a, b)` gives joules and average watts per zone and in total.
 *
 *   const meter = await RaplMeter.open();            // undefined: no RAPL, use the model
 *   const a = await meter.sample(); ...; const b = await meter.sample();
 *   meter.interval(a, b).total?.energyUj
 */
export class RaplMeter {
  readonly zones: readonly RaplZone[];
  readonly #clockNs: () => bigint;

  private constructor(zones: RaplZone[], clockNs: () => bigint) {
    this.zones = zones;
    this.#clockNs = clockNs;
  }

  /**
   * A meter over the node's RAPL zones, or `undefined` when it has none. Throws
   * `E_SENSOR_UNREADABLE` when zones exist but cannot be read (commonly: not root), so a
   * caller learns at start-up, not at the first charge, that it must fall back to the model.
   */
  static async open(init: RaplMeterInit = {}): Promise<RaplMeter | undefined> {
    const zones = await listRaplZones(init.root ?? '/');
    if (zones.length === 0) return undefined;
    const meter = new RaplMeter(zones, init.clockNs ?? process.hrtime.bigint);
    await meter.sample();
    return meter;
  }

  async sample(): Promise<RaplSample> {
    const counters: RaplCounterReading[] = [];
    for (const zone of this.zones) counters.push(await readRaplCounter(zone));
    return { atNs: this.#clockNs(), counters };
  }

  interval(prev: RaplSample, next: RaplSample): RaplInterval {
    return raplInterval(prev, next);
  }
}
