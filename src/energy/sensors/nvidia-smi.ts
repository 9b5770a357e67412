/**
 * NVIDIA GPUs, read through `nvidia-smi --query-gpu` (the driver's NVML, as a command).
 *
 *   nvidia-smi --query-gpu=index,power.draw,power.limit,temperature.gpu,utilization.gpu,
 *                          power.draw.instant,total_energy_consumption,name
 *              --format=csv,noheader,nounits
 *
 * gives one line per GPU, cells separated by ", ", units dropped: power in W, temperature in
 * °C, utilisation in percent, energy in mJ. `power.draw` is, on Ampere and newer, the board's
 * power averaged over the last second (on an H200 it took about a second to climb from 130 W
 * to 700 W under a step load); `power.draw.instant` is the latest instantaneous reading.
 * `total_energy_consumption` is the driver's energy counter since it was loaded (Volta and
 * newer). A cell the driver cannot fill reads `[N/A]` or `[Not Supported]` (any bracketed
 * text): that figure is absent, never 0. `name` is queried last so that a comma in a product
 * name cannot shift the other cells.
 *
 * The last two fields are optional: not every nvidia-smi accepts them (driver 580.159.04
 * refuses `total_energy_consumption`, although NVML itself has the counter). One that refuses
 * a field exits with `Field "<name>" is not a valid field to query.`; the reader then asks
 * again without that field and remembers not to ask for it again.
 *
 * The command runner is injected so that tests feed recorded output; the default one runs the
 * binary with a timeout and reports a missing binary as absent, not as an error.
 */
import { execFile } from 'node:child_process';
import { assert } from '../../assert.js';
import type { EnergyCounterReading, Figure } from './reading.js';
import { sensorUnreadable } from './sysfs.js';

export type CommandResult =
  | { kind: 'ok'; stdout: string; stderr: string }
  /** The binary is not installed (or not on PATH). */
  | { kind: 'missing' }
  | { kind: 'failed'; exitCode: number | null; stdout: string; stderr: string }
  | { kind: 'timeout'; timeoutMs: number };

export type CommandRunner = (
  file: string,
  args: readonly string[],
  options: { timeoutMs: number },
) => Promise<CommandResult>;

/** nvidia-smi prints a few hundred bytes per GPU; a megabyte is far more than any node needs. */
const OUTPUT_BYTES_MAX = 1 << 20;

export const defaultCommandRunner: CommandRunner = (file, args, { timeoutMs }) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: OUTPUT_BYTES_MAX, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ kind: 'ok', stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') return resolve({ kind: 'missing' });
        if (e.killed === true && e.signal === 'SIGKILL') return resolve({ kind: 'timeout', timeoutMs });
        const exitCode = typeof (e.code as unknown) === 'number' ? (e.code as unknown as number) : null;
        resolve({ kind: 'failed', exitCode, stdout: String(stdout), stderr: String(stderr || e.message) });
      },
    );
  });

export interface GpuReading extends Figure {
  source: 'measured';
  index: number;
  name: string;
  /** `power.draw`: on Ampere and newer, averaged over the last second. */
  powerW?: number;
  /** `power.draw.instant`: the latest instantaneous reading. */
  powerInstantW?: number;
  /** `temperature.gpu`. */
  tempC?: number;
  /** `power.limit`: the enforced power cap. */
  powerLimitW?: number;
  /** `utilization.gpu`: percent of the last sample period a kernel was running. */
  utilisationPct?: number;
  /** `total_energy_consumption`, converted from mJ: a counter, only differences mean anything. */
  counterUj?: EnergyCounterReading['counterUj'];
}

export const NVIDIA_SMI_BASE_FIELDS = ['index', 'power.draw', 'power.limit', 'temperature.gpu', 'utilization.gpu'] as const;
export const NVIDIA_SMI_INSTANT_POWER_FIELD = 'power.draw.instant';
export const NVIDIA_SMI_ENERGY_FIELD = 'total_energy_consumption';
/** Fields some nvidia-smi versions refuse; asked for until refused. */
export const NVIDIA_SMI_OPTIONAL_FIELDS: readonly string[] = [NVIDIA_SMI_INSTANT_POWER_FIELD, NVIDIA_SMI_ENERGY_FIELD];

/** The fields queried, in order: the base fields, the given optional ones, then `name`. */
export function nvidiaSmiFields(optional: readonly string[] = NVIDIA_SMI_OPTIONAL_FIELDS): string[] {
  return [...NVIDIA_SMI_BASE_FIELDS, ...optional, 'name'];
}

export function nvidiaSmiArgs(optional: readonly string[] = NVIDIA_SMI_OPTIONAL_FIELDS): string[] {
  return [`--query-gpu=${nvidiaSmiFields(optional).join(',')}`, '--format=csv,noheader,nounits'];
}

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]`, ... and the older bare `N/A`. */
function isAbsentCell(cell: string): boolean {
  return /^\[.*\]$/.test(cell) || cell === 'N/A' || cell === '';
}

const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * Parses the output of `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`, where
 * `fields` ends with `name`. Throws `E_SENSOR_UNREADABLE` on output that is not that table.
 */
export function parseNvidiaSmiCsv(text: string, fields: readonly string[], source = 'nvidia-smi'): GpuReading[] {
  assert(fields[0] === 'index' && fields[fields.length - 1] === 'name', 'nvidia-smi fields start with index and end with name');
  const gpus: GpuReading[] = [];
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  for (const line of lines) {
    const cells = line.split(',');
    if (cells.length < fields.length) {
      throw sensorUnreadable(source, 'malformed', `expected ${fields.length} cells, found ${JSON.stringify(line.slice(0, 120))}`);
    }
    // The name is the last field and may itself hold commas: it takes the rest of the line.
    const name = cells.slice(fields.length - 1).join(',').trim();
    const numbers = new Map<string, string | undefined>();
    for (let i = 0; i < fields.length - 1; i++) {
      const field = fields[i]!;
      const cell = cells[i]!.trim();
      if (isAbsentCell(cell)) {
        numbers.set(field, undefined);
      } else if (DECIMAL.test(cell)) {
        numbers.set(field, cell);
      } else {
        throw sensorUnreadable(source, 'malformed', `${field} is ${JSON.stringify(cell.slice(0, 40))}, not a number`);
      }
    }
    const indexText = numbers.get('index');
    if (indexText === undefined || !/^[0-9]+$/.test(indexText)) {
      throw sensorUnreadable(source, 'malformed', `a GPU line has no index: ${JSON.stringify(line.slice(0, 120))}`);
    }
    const index = Number(indexText);
    const gpu: GpuReading = { sensor: `nvidia-smi/gpu${index}`, source: 'measured', index, name };
    if (name !== '' && !isAbsentCell(name)) gpu.label = name;
    const num = (field: string): number | undefined => {
      const cell = numbers.get(field);
      return cell === undefined ? undefined : Number(cell);
    };
    const powerW = num('power.draw');
    if (powerW !== undefined) gpu.powerW = powerW;
    const powerInstantW = num(NVIDIA_SMI_INSTANT_POWER_FIELD);
    if (powerInstantW !== undefined) gpu.powerInstantW = powerInstantW;
    const powerLimitW = num('power.limit');
    if (powerLimitW !== undefined) gpu.powerLimitW = powerLimitW;
    const tempC = num('temperature.gpu');
    if (tempC !== undefined) gpu.tempC = tempC;
    const utilisationPct = num('utilization.gpu');
    if (utilisationPct !== undefined) gpu.utilisationPct = utilisationPct;
    const energyMj = numbers.get(NVIDIA_SMI_ENERGY_FIELD);
    if (energyMj !== undefined) {
      if (energyMj.startsWith('-')) {
        throw sensorUnreadable(source, 'malformed', `${NVIDIA_SMI_ENERGY_FIELD} is negative: ${energyMj}`);
      }
      gpu.counterUj = millisToMicros(energyMj);
    }
    gpus.push(gpu);
  }
  return gpus;
}

/** Exact decimal mJ to integer µJ (fractions of a µJ are dropped: the counter has no such resolution). */
function millisToMicros(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole!) * 1000n + BigInt((fraction + '000').slice(0, 3));
}

export interface NvidiaSmiInit {
  run?: CommandRunner;
  /** The command to run; `nvidia-smi` on PATH by default. */
  binary?: string;
  /** nvidia-smi answers in tens of ms with persistence mode on, and can take a second without. */
  timeoutMs?: number;
}

export const NVIDIA_SMI_TIMEOUT_MS_DEFAULT = 2000;

export class NvidiaSmiReader {
  readonly binary: string;
  readonly timeoutMs: number;
  readonly #run: CommandRunner;
  /** Optional fields this nvidia-smi refused; never asked for again. */
  readonly #refused = new Set<string>();
  #answered = false;

  constructor(init: NvidiaSmiInit = {}) {
    this.binary = init.binary ?? 'nvidia-smi';
    this.timeoutMs = init.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS_DEFAULT;
    this.#run = init.run ?? defaultCommandRunner;
    assert(Number.isInteger(this.timeoutMs) && this.timeoutMs > 0, `nvidia-smi timeout is a positive integer of ms (${this.timeoutMs})`);
  }

  /** The optional fields this nvidia-smi refused so far. */
  get refusedFields(): readonly string[] {
    return [...this.#refused];
  }

  /** Whether the energy counter field is supported; `undefined` until nvidia-smi first answered. */
  get energyFieldSupported(): boolean | undefined {
    return this.#answered ? !this.#refused.has(NVIDIA_SMI_ENERGY_FIELD) : undefined;
  }

  /**
   * One reading per GPU; `undefined` when nvidia-smi is not installed, `[]` when it is but
   * finds no GPU. Throws `E_SENSOR_UNREADABLE` when it is installed but fails (no driver,
   * timeout) or prints something that is not the table asked for.
   */
  async read(): Promise<GpuReading[] | undefined> {
    // Each refusal removes at least one optional field, so this ends after at most one more
    // attempt than there are optional fields.
    for (let attempt = 0; attempt <= NVIDIA_SMI_OPTIONAL_FIELDS.length; attempt++) {
      const optional = NVIDIA_SMI_OPTIONAL_FIELDS.filter((f) => !this.#refused.has(f));
      const result = await this.#run(this.binary, nvidiaSmiArgs(optional), { timeoutMs: this.timeoutMs });
      switch (result.kind) {
        case 'missing':
          return undefined;
        case 'timeout':
          throw sensorUnreadable(this.binary, 'io', `did not answer within ${result.timeoutMs} ms`);
        case 'failed': {
          const output = `${result.stdout}\n${result.stderr}`;
          if (/not a valid field/i.test(output) && optional.length > 0) {
            const named = /Field "([^"]+)" is not a valid field/i.exec(output)?.[1];
            // A refusal that names none of our optional fields refuses them all: the base
            // fields exist in every nvidia-smi since 2012, so one of the optional ones is at fault.
            const refused = named !== undefined && optional.includes(named) ? [named] : optional;
            for (const field of refused) this.#refused.add(field);
            continue;
          }
          if (/no devices were found/i.test(output)) return this.#answer([]);
          const firstLine = output.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
          throw sensorUnreadable(this.binary, 'io', `exited with ${result.exitCode ?? 'a signal'}: ${firstLine.slice(0, 200)}`);
        }
        case 'ok': {
          if (/no devices were found/i.test(result.stdout)) return this.#answer([]);
          return this.#answer(parseNvidiaSmiCsv(result.stdout, nvidiaSmiFields(optional), this.binary));
        }
      }
    }
    throw sensorUnreadable(this.binary, 'io', 'refused even the base query fields');
  }

  #answer(gpus: GpuReading[]): GpuReading[] {
    this.#answered = true;
    return gpus;
  }
}
