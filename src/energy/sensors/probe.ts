/**
 * Discovery: what this node can measure. Each family is read tolerantly: a bad file is listed
 * in `problems` and every other sensor is still reported, so one broken driver never hides the
 * rest, and nothing unreadable is reported as 0.
 */
import type { SensorProblem } from './reading.js';
import { listRaplZones, readRaplCounter, type RaplCounterReading, type RaplZone } from './rapl.js';
import { listHwmonChips, type HwmonChip } from './hwmon.js';
import { listThermalZones, type ThermalZoneReading } from './thermal.js';
import { NvidiaSmiReader, type GpuReading } from './nvidia-smi.js';
import { tolerate } from './sysfs.js';

export interface ProbeOptions {
  /** Where `sys/` is: `/` on a real node, a fixture tree in tests. */
  root?: string;
  /**
   * The GPU reader, or `false` for none. By default nvidia-smi is asked only when `root` is
   * `/`: a fixture tree stands for another machine, whose GPUs are not this one's.
   */
  nvidiaSmi?: NvidiaSmiReader | false;
}

export type NvidiaSmiStatus =
  /** nvidia-smi answered (possibly with no GPUs). */
  | 'present'
  /** nvidia-smi is not installed. */
  | 'absent'
  /** nvidia-smi is installed but failed; see `problems`. */
  | 'unreadable'
  /** Not asked (a fixture root, or the caller said so). */
  | 'not-queried';

export interface SensorInventory {
  root: string;
  rapl: { zones: RaplZone[]; counters: RaplCounterReading[] };
  hwmon: HwmonChip[];
  thermal: ThermalZoneReading[];
  gpus: GpuReading[];
  nvidiaSmi: NvidiaSmiStatus;
  problems: SensorProblem[];
  /** Any sensor at all exists (even one that could not be read). */
  found: boolean;
  /** Some energy or power figure could be read: RAPL, hwmon power/energy, or GPU power. */
  energyMeasured: boolean;
}

export async function probeSensors(options: ProbeOptions = {}): Promise<SensorInventory> {
  const root = options.root ?? '/';
  const problems: SensorProblem[] = [];

  const zones = await listRaplZones(root, problems);
  const counters: RaplCounterReading[] = [];
  for (const zone of zones) {
    const counter = await tolerate(problems, zone.id, () => readRaplCounter(zone));
    if (counter !== undefined) counters.push(counter);
  }
  const hwmon = await listHwmonChips(root, problems);
  const thermal = await listThermalZones(root, problems);

  const reader = options.nvidiaSmi ?? (root === '/' ? new NvidiaSmiReader() : false);
  let gpus: GpuReading[] = [];
  let nvidiaSmi: NvidiaSmiStatus = 'not-queried';
  if (reader !== false) {
    const problemsBefore = problems.length;
    const read = await tolerate(problems, 'nvidia-smi', () => reader.read());
    if (read !== undefined) {
      gpus = read;
      nvidiaSmi = 'present';
    } else {
      nvidiaSmi = problems.length > problemsBefore ? 'unreadable' : 'absent';
    }
  }

  const found = zones.length > 0 || hwmon.length > 0 || thermal.length > 0 || gpus.length > 0;
  const energyMeasured =
    counters.length > 0 ||
    hwmon.some((chip) => chip.powers.length > 0 || chip.energies.length > 0) ||
    gpus.some((gpu) => gpu.powerW !== undefined || gpu.counterUj !== undefined);
  return { root, rapl: { zones, counters }, hwmon, thermal, gpus, nvidiaSmi, problems, found, energyMeasured };
}
