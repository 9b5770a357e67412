/**
 * `maxwell sensors`: what this node can measure, each figure labelled measured or estimated.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { NodePowerModel } from '../energy/power-model.js';
import {
  probeSensors,
  raplInterval,
  readRaplCounter,
  type RaplInterval,
  type RaplSample,
  type SensorInventory,
  type Source,
} from '../energy/sensors/index.js';
import { tolerate } from '../energy/sensors/sysfs.js';

export const summary = 'list the energy, power and temperature sensors this node can read';

const USAGE = `usage: maxwell sensors [--json] [--root DIR] [--sample-ms N] [--no-gpu]

Lists the RAPL zones, hwmon chips, thermal zones and NVIDIA GPUs this node can read. Every
figure says whether it was measured (by a sensor) or estimated (by Maxwell's power model).

  --json          print one JSON object instead of text (counters as decimal strings)
  --root DIR      read DIR/sys instead of /sys (a fixture tree); GPUs are then not queried
  --sample-ms N   measure RAPL power over N ms (default 200; 0 reads counters only)
  --no-gpu        do not run nvidia-smi
  -h, --help      show this help`;

export const NOTHING_FOUND =
  'no RAPL, hwmon, thermal zone or GPU found: energy figures on this node are estimated by the model';
export const NOTHING_READABLE =
  'no energy or power sensor could be read: energy figures on this node are estimated by the model';
export const SOME_MEASURED = 'figures marked measured come from the sensors above; all others are estimated by the model';

const SAMPLE_MS_MAX = 10_000;

/** One figure, flat: exactly one of the quantity fields is set. */
export interface FigureLine {
  family: 'rapl' | 'hwmon' | 'thermal' | 'gpu' | 'model';
  sensor: string;
  source: Source;
  label?: string;
  powerW?: number;
  powerInstantW?: number;
  powerLimitW?: number;
  tempC?: number;
  utilisationPct?: number;
  energyUj?: number;
  durationMs?: number;
  counterUj?: bigint;
  /** RAPL: whether the zone is part of the node total. */
  summed?: boolean;
}

export interface SensorsReport {
  inventory: SensorInventory;
  interval: RaplInterval | undefined;
  model: NodePowerModel;
  figures: FigureLine[];
  message: string;
}

export async function buildReport(options: { root: string; sampleMs: number; gpu: boolean }): Promise<SensorsReport> {
  const inventory = await probeSensors(options.gpu ? { root: options.root } : { root: options.root, nvidiaSmi: false });
  let interval: RaplInterval | undefined;
  if (options.sampleMs > 0 && inventory.rapl.counters.length > 0) {
    interval = await sampleRapl(inventory, options.sampleMs);
  }
  const model = NodePowerModel.forCores(availableParallelism());
  const figures = collectFigures(inventory, interval, model);
  const message = !inventory.found ? NOTHING_FOUND : !inventory.energyMeasured ? NOTHING_READABLE : SOME_MEASURED;
  return { inventory, interval, model, figures, message };
}

/** Two readings of the zones that were readable, `sampleMs` apart. */
async function sampleRapl(inventory: SensorInventory, sampleMs: number): Promise<RaplInterval> {
  const readable = new Set(inventory.rapl.counters.map((c) => c.sensor));
  const zones = inventory.rapl.zones.filter((z) => readable.has(z.id));
  // A zone that fails on a later read is listed as a problem and left out of the interval.
  const take = async (): Promise<RaplSample> => {
    const counters = [];
    for (const zone of zones) {
      const counter = await tolerate(inventory.problems, zone.id, () => readRaplCounter(zone));
      if (counter !== undefined) counters.push(counter);
    }
    return { atNs: process.hrtime.bigint(), counters };
  };
  const first = await take();
  await sleep(sampleMs);
  return raplInterval(first, await take());
}

export function collectFigures(
  inventory: SensorInventory,
  interval: RaplInterval | undefined,
  model: NodePowerModel,
): FigureLine[] {
  const figures: FigureLine[] = [];
  const zoneById = new Map(inventory.rapl.zones.map((z) => [z.id, z]));
  for (const counter of inventory.rapl.counters) {
    figures.push({ family: 'rapl', sensor: counter.sensor, source: 'measured', label: counter.label ?? '', counterUj: counter.counterUj, summed: counter.summed });
  }
  for (const zone of interval?.zones ?? []) {
    figures.push({
      family: 'rapl',
      sensor: zone.sensor,
      source: 'measured',
      label: zoneById.get(zone.sensor)?.name ?? zone.sensor,
      powerW: zone.powerW,
      energyUj: zone.energyUj,
      durationMs: zone.durationMs,
      summed: zone.summed,
    });
  }
  if (interval?.total !== undefined) {
    const t = interval.total;
    figures.push({ family: 'rapl', sensor: t.sensor, source: 'measured', label: t.label ?? '', powerW: t.powerW, energyUj: t.energyUj, durationMs: t.durationMs });
  }
  for (const chip of inventory.hwmon) {
    const label = (own: string | undefined): string => (own === undefined ? chip.name : `${chip.name} ${own}`);
    for (const r of chip.temps) figures.push({ family: 'hwmon', sensor: r.sensor, source: r.source, label: label(r.label), tempC: r.tempC });
    for (const r of chip.powers) figures.push({ family: 'hwmon', sensor: r.sensor, source: r.source, label: label(r.label), powerW: r.powerW });
    for (const r of chip.energies) figures.push({ family: 'hwmon', sensor: r.sensor, source: r.source, label: label(r.label), counterUj: r.counterUj });
  }
  for (const zone of inventory.thermal) {
    figures.push({ family: 'thermal', sensor: zone.sensor, source: zone.source, label: zone.type, tempC: zone.tempC });
  }
  for (const gpu of inventory.gpus) {
    const base = { family: 'gpu' as const, sensor: gpu.sensor, source: gpu.source, label: gpu.name };
    if (gpu.powerW !== undefined) figures.push({ ...base, powerW: gpu.powerW });
    if (gpu.powerInstantW !== undefined) figures.push({ ...base, powerInstantW: gpu.powerInstantW });
    if (gpu.powerLimitW !== undefined) figures.push({ ...base, powerLimitW: gpu.powerLimitW });
    if (gpu.tempC !== undefined) figures.push({ ...base, tempC: gpu.tempC });
    if (gpu.utilisationPct !== undefined) figures.push({ ...base, utilisationPct: gpu.utilisationPct });
    if (gpu.counterUj !== undefined) figures.push({ ...base, counterUj: gpu.counterUj });
  }
  const idle = model.powerAt(0);
  const peak = model.powerAt(1);
  figures.push({ family: 'model', sensor: idle.sensor, source: idle.source, label: 'node idle', powerW: idle.powerW });
  figures.push({ family: 'model', sensor: peak.sensor, source: peak.source, label: 'node, all cores busy', powerW: peak.powerW });
  return figures;
}

function describe(f: FigureLine): string {
  if (f.powerW !== undefined) {
    const over = f.durationMs === undefined ? '' : ` over ${f.durationMs.toFixed(0)} ms (${f.energyUj} µJ)`;
    return `power ${f.powerW.toFixed(3)} W${over}`;
  }
  if (f.powerInstantW !== undefined) return `instant power ${f.powerInstantW.toFixed(3)} W`;
  if (f.powerLimitW !== undefined) return `power limit ${f.powerLimitW} W`;
  if (f.tempC !== undefined) return `${f.tempC.toFixed(1)} °C`;
  if (f.utilisationPct !== undefined) return `utilisation ${f.utilisationPct} %`;
  if (f.counterUj !== undefined) return `energy counter ${f.counterUj} µJ`;
  return '';
}

const FAMILY_TITLES: Record<FigureLine['family'], string> = {
  rapl: 'RAPL (powercap)',
  hwmon: 'hwmon',
  thermal: 'thermal zones',
  gpu: 'GPUs (nvidia-smi)',
  model: 'power model',
};

export function renderText(report: SensorsReport): string {
  const { inventory, model } = report;
  const lines = [`maxwell sensors: reading ${inventory.root === '/' ? '/sys' : `${inventory.root}/sys`}`];
  for (const family of ['rapl', 'hwmon', 'thermal', 'gpu', 'model'] as const) {
    let figures = report.figures.filter((f) => f.family === family);
    const rows: string[] = [];
    if (family === 'rapl') {
      // Text shows a zone's power when it was sampled, its raw counter otherwise (JSON has both).
      const sampled = new Set(figures.filter((f) => f.powerW !== undefined).map((f) => f.sensor));
      figures = figures.filter((f) => f.powerW !== undefined || !sampled.has(f.sensor));
      // Zones whose counter could not be read still exist: say so rather than hide them.
      for (const zone of inventory.rapl.zones) {
        if (!figures.some((f) => f.sensor === zone.id)) {
          rows.push(`  ${zone.id.padEnd(22)} ${zone.name.padEnd(24)} unreadable (see problems)`);
        }
      }
    }
    // One row per sensor: a GPU's power, limit, temperature and counter share a line.
    const bySensor = new Map<string, FigureLine[]>();
    for (const f of figures) {
      const key = `${f.sensor}\u0000${f.label ?? ''}`;
      bySensor.set(key, [...(bySensor.get(key) ?? []), f]);
    }
    for (const group of bySensor.values()) {
      const f = group[0]!;
      const summed = f.summed === true ? '  [in node total]' : '';
      const what = group.map(describe).join(', ');
      rows.push(`  ${f.sensor.padEnd(22)} ${(f.label ?? '').padEnd(24)} ${f.source.padEnd(9)} ${what}${summed}`);
    }
    if (rows.length === 0) continue;
    lines.push(`${FAMILY_TITLES[family]}:`, ...rows);
  }
  if (inventory.nvidiaSmi === 'present' && inventory.gpus.length === 0) lines.push('nvidia-smi: present, no GPU found');
  const p = model.params;
  lines.push(
    `  model: P = ${p.idlePowerW.toFixed(1)} W + (${model.maxPowerW.toFixed(1)} − ${p.idlePowerW.toFixed(1)}) W × utilisation` +
      ` (${p.cores} cores, ${p.activePowerPerCoreW} W per busy core; uncalibrated defaults)`,
  );
  if (inventory.problems.length > 0) {
    lines.push('problems:');
    for (const problem of inventory.problems) lines.push(`  ${problem.sensor}: ${problem.code}: ${problem.message}`);
  }
  lines.push(report.message);
  return lines.join('\n');
}

export function toJson(report: SensorsReport): string {
  const { inventory, interval, model } = report;
  const value = {
    root: inventory.root,
    found: inventory.found,
    energyMeasured: inventory.energyMeasured,
    message: report.message,
    nvidiaSmi: inventory.nvidiaSmi,
    raplZones: inventory.rapl.zones.map(({ id, name, parentId, maxRangeUj, summed }) => ({ id, name, parentId, maxRangeUj, summed })),
    raplTotal: interval?.total,
    figures: report.figures,
    problems: inventory.problems,
    model: { ...model.params, maxPowerW: model.maxPowerW, source: 'estimated' },
  };
  // Energy counters are 64-bit: they travel as decimal strings so no digit is lost.
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        root: { type: 'string', default: '/' },
        'sample-ms': { type: 'string', default: '200' },
        'no-gpu': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const sampleText = values['sample-ms'];
  const sampleMs = Number(sampleText);
  if (!/^[0-9]+$/.test(sampleText) || sampleMs > SAMPLE_MS_MAX) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--sample-ms must be an integer from 0 to ${SAMPLE_MS_MAX}, got '${sampleText}'`, {
      flag: '--sample-ms',
    });
  }
  const report = await buildReport({ root: values.root, sampleMs, gpu: !values['no-gpu'] });
  console.log(values.json ? toJson(report) : renderText(report));
  return 0;
}
