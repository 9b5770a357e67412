import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import {
  defaultCommandRunner,
  NvidiaSmiReader,
  nvidiaSmiArgs,
  nvidiaSmiFields,
  parseNvidiaSmiCsv,
  type CommandResult,
  type CommandRunner,
} from '../../src/energy/sensors/index.js';

// Recorded shapes of `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`.
// index, power.draw, power.limit, temperature.gpu, utilization.gpu, [power.draw.instant,
// total_energy_consumption,] name
const ALL_FIELDS = nvidiaSmiFields();
const BASE_FIELDS = nvidiaSmiFields([]);
const ENERGY_ONLY = nvidiaSmiFields(['total_energy_consumption']);

const TWO_GPUS = [
  '0, 71.43, 700.00, 31, 0, 70.12, 86400123, NVIDIA H100 80GB HBM3',
  '1, 402.17, 700.00, 58, 97, 655.90, 912345678.5, NVIDIA H100 80GB HBM3',
  '',
].join('\n');

const OLD_GPU = '0, [N/A], [Not Supported], 45, [N/A], NVIDIA GeForce GTX 1080\n';

function unreadable(messagePart: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof MaxwellError);
    assert.equal(err.code, ErrorCode.SENSOR_UNREADABLE);
    assert.ok(err.message.includes(messagePart), err.message);
    return true;
  };
}

/** A runner that answers from a script and records what it was asked. */
function scripted(...answers: CommandResult[]): { run: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: CommandRunner = async (file, args) => {
    calls.push([file, ...args]);
    const answer = answers.shift();
    assert.ok(answer, 'the reader asked more often than expected');
    return answer;
  };
  return { run, calls };
}

describe('parseNvidiaSmiCsv', () => {
  it('reads every figure in its unit, labelled measured', () => {
    const [a, b] = parseNvidiaSmiCsv(TWO_GPUS, ALL_FIELDS);
    assert.deepEqual(a, {
      sensor: 'nvidia-smi/gpu0',
      source: 'measured',
      label: 'NVIDIA H100 80GB HBM3',
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      powerW: 71.43,
      powerInstantW: 70.12,
      powerLimitW: 700,
      tempC: 31,
      utilisationPct: 0,
      counterUj: 86400123000n,
    });
    assert.equal(b!.index, 1);
    assert.equal(b!.powerW, 402.17);
    assert.equal(b!.utilisationPct, 97);
    // mJ with a fraction becomes exact µJ.
    assert.equal(b!.counterUj, 912345678500n);
  });

  it('treats [N/A] and [Not Supported] as absent, never 0', () => {
    const [gpu] = parseNvidiaSmiCsv(OLD_GPU, BASE_FIELDS);
    assert.ok(gpu);
    assert.equal(gpu.tempC, 45);
    assert.equal('powerW' in gpu, false);
    assert.equal('powerLimitW' in gpu, false);
    assert.equal('utilisationPct' in gpu, false);
    assert.equal('counterUj' in gpu, false);
    const [noEnergy] = parseNvidiaSmiCsv('0, 60.1, 250.00, 40, 3, [N/A], [Not Supported], Tesla T4\n', ALL_FIELDS);
    assert.equal(noEnergy!.powerW, 60.1);
    assert.equal('powerInstantW' in noEnergy!, false);
    assert.equal('counterUj' in noEnergy!, false);
  });

  it('keeps a comma inside the product name', () => {
    const [gpu] = parseNvidiaSmiCsv('3, 10.00, 75.00, 33, 1, Acme GPU, rev 2\n', BASE_FIELDS);
    assert.equal(gpu!.name, 'Acme GPU, rev 2');
    assert.equal(gpu!.index, 3);
  });

  it('rejects output that is not the table asked for', () => {
    assert.throws(() => parseNvidiaSmiCsv('0, abc, 700.00, 31, 0, H100\n', BASE_FIELDS), unreadable('power.draw'));
    assert.throws(() => parseNvidiaSmiCsv('0, 71.43, 700.00\n', BASE_FIELDS), unreadable('expected 6 cells'));
    assert.throws(() => parseNvidiaSmiCsv('[N/A], 1, 2, 3, 4, X\n', BASE_FIELDS), unreadable('no index'));
    assert.throws(() => parseNvidiaSmiCsv('0, 1, 2, 3, 4, -5, X\n', ENERGY_ONLY), unreadable('negative'));
  });

  it('reads no lines as no GPUs', () => {
    assert.deepEqual(parseNvidiaSmiCsv('\n', ALL_FIELDS), []);
  });
});

describe('NvidiaSmiReader', () => {
  it('drops exactly the optional field nvidia-smi refuses, and remembers', async () => {
    // Recorded from driver 580.159.04 on an H200: it accepts power.draw.instant but not this.
    const refusal: CommandResult = {
      kind: 'failed',
      exitCode: 2,
      stdout: 'Field "total_energy_consumption" is not a valid field to query.\n',
      stderr: '',
    };
    const { run, calls } = scripted(
      refusal,
      { kind: 'ok', stdout: '0, 77.90, 700.00, 35, 0, 76.41, NVIDIA H200\n', stderr: '' },
      { kind: 'ok', stdout: '0, 80.00, 700.00, 36, 5, 81.00, NVIDIA H200\n', stderr: '' },
    );
    const reader = new NvidiaSmiReader({ run, binary: '/usr/bin/nvidia-smi' });
    assert.equal(reader.energyFieldSupported, undefined);
    const first = await reader.read();
    assert.deepEqual([first?.[0]?.powerW, first?.[0]?.powerInstantW], [77.9, 76.41]);
    assert.equal('counterUj' in first![0]!, false);
    assert.equal(reader.energyFieldSupported, false);
    assert.deepEqual(reader.refusedFields, ['total_energy_consumption']);
    const second = await reader.read();
    assert.equal(second?.[0]?.powerW, 80);
    const instantOnly = nvidiaSmiArgs(['power.draw.instant']);
    assert.deepEqual(calls, [
      ['/usr/bin/nvidia-smi', ...nvidiaSmiArgs()],
      ['/usr/bin/nvidia-smi', ...instantOnly],
      ['/usr/bin/nvidia-smi', ...instantOnly],
    ]);
    assert.match(calls[0]![1]!, /power\.draw\.instant,total_energy_consumption,name$/);
    assert.equal(calls[0]![2], '--format=csv,noheader,nounits');
  });

  it('drops every optional field when a refusal names none of them', async () => {
    const { run, calls } = scripted(
      { kind: 'failed', exitCode: 2, stdout: '', stderr: 'is not a valid field to query' },
      { kind: 'ok', stdout: '0, 50.00, 250.00, 40, 0, Tesla T4\n', stderr: '' },
    );
    const reader = new NvidiaSmiReader({ run });
    assert.equal((await reader.read())?.[0]?.powerW, 50);
    assert.deepEqual(calls[1], ['nvidia-smi', ...nvidiaSmiArgs([])]);
    assert.deepEqual(reader.refusedFields, ['power.draw.instant', 'total_energy_consumption']);
  });

  it('gives up when even the base fields are refused', async () => {
    const refuse = (): CommandResult => ({ kind: 'failed', exitCode: 2, stdout: 'Field "index" is not a valid field to query.', stderr: '' });
    const { run, calls } = scripted(refuse(), refuse(), refuse());
    await assert.rejects(new NvidiaSmiReader({ run }).read(), unreadable('not a valid field'));
    // Two optional fields dropped together (the named one is not optional), then the base query.
    assert.equal(calls.length, 2);
  });

  it('remembers that the energy field works', async () => {
    const { run, calls } = scripted(
      { kind: 'ok', stdout: '0, 71.43, 700.00, 31, 0, 70.00, 1000, NVIDIA H200\n', stderr: '' },
      { kind: 'ok', stdout: '0, 71.43, 700.00, 31, 0, 70.00, 2000, NVIDIA H200\n', stderr: '' },
    );
    const reader = new NvidiaSmiReader({ run });
    assert.equal((await reader.read())?.[0]?.counterUj, 1000000n);
    assert.equal(reader.energyFieldSupported, true);
    assert.equal((await reader.read())?.[0]?.counterUj, 2000000n);
    assert.equal(calls.length, 2);
  });

  it('reports a missing binary as absent and no devices as an empty list', async () => {
    assert.equal(await new NvidiaSmiReader({ run: scripted({ kind: 'missing' }).run }).read(), undefined);
    const noDevices: CommandResult = { kind: 'failed', exitCode: 6, stdout: 'No devices were found\n', stderr: '' };
    assert.deepEqual(await new NvidiaSmiReader({ run: scripted(noDevices).run }).read(), []);
  });

  it('throws E_SENSOR_UNREADABLE when nvidia-smi is there but fails or hangs', async () => {
    const noDriver: CommandResult = {
      kind: 'failed',
      exitCode: 9,
      stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
      stderr: '',
    };
    await assert.rejects(new NvidiaSmiReader({ run: scripted(noDriver).run }).read(), unreadable("couldn't communicate"));
    const hung = scripted({ kind: 'timeout', timeoutMs: 2000 }).run;
    await assert.rejects(new NvidiaSmiReader({ run: hung }).read(), unreadable('2000 ms'));
    const garbage = scripted({ kind: 'ok', stdout: 'Segmentation fault\n', stderr: '' }).run;
    await assert.rejects(new NvidiaSmiReader({ run: garbage }).read(), unreadable('cells'));
  });
});

describe('defaultCommandRunner', () => {
  it('tells a missing binary, a failure, a timeout and a success apart', async () => {
    assert.deepEqual(await defaultCommandRunner('/nonexistent/nvidia-smi', [], { timeoutMs: 1000 }), { kind: 'missing' });
    const failed = await defaultCommandRunner('sh', ['-c', 'echo oops >&2; exit 3'], { timeoutMs: 2000 });
    assert.equal(failed.kind, 'failed');
    assert.equal(failed.kind === 'failed' && failed.exitCode, 3);
    assert.equal(failed.kind === 'failed' && failed.stderr.trim(), 'oops');
    const slow = await defaultCommandRunner('sleep', ['5'], { timeoutMs: 100 });
    assert.deepEqual(slow, { kind: 'timeout', timeoutMs: 100 });
    const ok = await defaultCommandRunner('sh', ['-c', 'printf "0, 1.5, 2, 3, 4, G\\n"'], { timeoutMs: 2000 });
    assert.deepEqual(ok, { kind: 'ok', stdout: '0, 1.5, 2, 3, 4, G\n', stderr: '' });
  });

  it('lets the reader report an uninstalled nvidia-smi as absent', async () => {
    assert.equal(await new NvidiaSmiReader({ binary: '/nonexistent/nvidia-smi' }).read(), undefined);
  });
});
