/**
 * `maxwell prove`: runs a quantised model on a batch and writes the inference claim (the inputs
 * and every layer's accumulators, bound to an agent and a session) that `maxwell verify` or a
 * node checks by Freivalds' check; with --groth16, a bundle of Groth16 proofs of every layer
 * (src/proof/groth16/model-proof.ts) that anyone holding the model and the verification keys
 * can check without the accumulators of the hidden layers.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { ErrorCode, MaxwellError } from '../errors.js';
import { usage } from './args.js';
import { modelHash, runModel, type Model } from '../proof/model.js';
import { MAX_BATCH, type InferenceClaim } from '../proof/claim.js';
import { claimToJson, modelFromJson, modelToJson, quantiseInput, readInferModel, readJsonFile } from '../proof/files.js';
import { positiveInteger } from './args.js';

export const summary = 'run a quantised model on a batch and write a checkable inference claim (docs/proof.md)';

const HELP = `usage: maxwell prove --model FILE|infer (--input FILE | --test-set) [--agent HEX] [--session HEX] [--out FILE]
       maxwell prove --groth16 --model FILE|infer (--input FILE | --test-set) [--weights private|public]
                     [--power N] [--setup-dir DIR] [--out FILE]
       maxwell prove --model infer --export-model FILE

Runs the model on a batch and writes the inference claim: its inputs and every layer's int32
accumulators, bound to an agent (a 32-byte wallet) and a session (8–64 bytes), for
\`maxwell verify\` or a node to check.

options:
  --model FILE|infer   a model file (format maxwell-model-v1), or the infer sample agent's model
  --input FILE         {"format": "maxwell-input-v1", "samples": [[int8, ...], ...]}: quantised inputs
  --test-set           the infer model's 45 held-out iris samples (with --model infer)
  --agent HEX          the agent's wallet (default: 32 zero bytes)
  --session HEX        the session (default: 16 random bytes)
  --out FILE           write the claim here (default: standard output)
  --export-model FILE  write the model as a model file and stop
  -h, --help           this help

Groth16 (--groth16): proves every layer in chunks that fit a setup of 2^N constraints (--power,
default 12), with the weights private (bound by Poseidon commitments) or public (compiled into
the circuits), and writes a bundle (format maxwell-groth16-v1) for \`maxwell verify\`. The first
run makes a development setup (powers of tau and the circuits' keys, not a ceremony) under
--setup-dir (default .maxwell/proof): about 25 s for 2^12, 45 s for 2^13, plus ~10–30 s per
distinct circuit, with progress on stderr; later runs reuse it. At most 256 samples.`;

export async function loadModel(spec: string): Promise<Model> {
  if (spec === 'infer') return (await readInferModel()).model;
  return modelFromJson(await readJsonFile(spec, ErrorCode.MODEL_INVALID));
}

export function hexArg(name: string, raw: string | undefined, min: number, max: number, fallback: () => Buffer): Buffer {
  if (raw === undefined) return fallback();
  if (!/^([0-9a-fA-F]{2})+$/.test(raw) || raw.length / 2 < min || raw.length / 2 > max) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${name} must be ${min === max ? min : `${min}–${max}`} bytes in hex, not '${raw}'`);
  }
  return Buffer.from(raw, 'hex');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      'test-set': { type: 'boolean', default: false },
      agent: { type: 'string' },
      session: { type: 'string' },
      out: { type: 'string' },
      'export-model': { type: 'string' },
      groth16: { type: 'boolean', default: false },
      weights: { type: 'string', default: 'private' },
      power: { type: 'string' },
      'setup-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.model === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--model is required\n\n${HELP}`);
  const model = await loadModel(values.model);
  if (values['export-model'] !== undefined) {
    await writeFile(values['export-model'], JSON.stringify(modelToJson(model)) + '\n');
    console.error(`maxwell prove: wrote ${model.name} (${modelHash(model).toString('hex')}) to ${values['export-model']}`);
    return 0;
  }
  if ((values.input === undefined) === !values['test-set']) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, 'give exactly one of --input FILE and --test-set');
  let input: Int8Array;
  let batch: number;
  const n = model.layers[0]!.inputs;
  if (values['test-set']) {
    if (values.model !== 'infer') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--test-set is the infer model\'s held-out set: use it with --model infer');
    const inf = await readInferModel();
    batch = inf.testX.length;
    input = quantiseInput(inf.testX, inf.inputZero);
  } else {
    const j = await readJsonFile(values.input!, ErrorCode.BAD_ARGUMENT) as { format?: unknown; samples?: unknown } | null;
    if (typeof j !== 'object' || j === null || j.format !== 'maxwell-input-v1' || !Array.isArray(j.samples)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${values.input} is not an input file ({"format": "maxwell-input-v1", "samples": [[...], ...]})`);
    const samples = j.samples as unknown[];
    batch = samples.length;
    if (batch < 1 || batch > MAX_BATCH) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a batch is 1–${MAX_BATCH} samples, not ${batch}`);
    input = new Int8Array(n * batch);
    samples.forEach((s, k) => {
      if (!Array.isArray(s) || s.length !== n || !s.every((v) => Number.isInteger(v) && v >= -128 && v <= 127)) {
        throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `sample ${k} must be ${n} integers in [-128, 127]`);
      }
      s.forEach((v: number, j2: number) => { input[j2 * batch + k] = v; });
    });
  }
  if (values.groth16) return proveGroth16(model, input, batch, values);
  const claim: InferenceClaim = {
    modelHash: modelHash(model),
    agent: hexArg('agent', values.agent, 32, 32, () => Buffer.alloc(32)),
    session: hexArg('session', values.session, 8, 64, () => randomBytes(16)),
    batch,
    input,
    accumulators: runModel(model, input, batch),
  };
  const text = JSON.stringify(claimToJson(claim)) + '\n';
  if (values.out === undefined) process.stdout.write(text);
  else {
    await writeFile(values.out, text);
    console.error(`maxwell prove: a claim of ${batch} sample(s) on ${model.name} for agent ${claim.agent.toString('hex').slice(0, 16)}…, session ${claim.session.toString('hex')}: ${values.out}`);
  }
  return 0;
}

async function proveGroth16(model: Model, input: Int8Array, batch: number, values: { weights?: string; power?: string; 'setup-dir'?: string; out?: string }): Promise<number> {
  const { proveModel } = await import('../proof/groth16/model-proof.js');
  const { MAX_BATCH: MAX_GROTH16_BATCH } = await import('../proof/groth16/circuit.js');
  if (values.weights !== 'private' && values.weights !== 'public') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--weights is private or public, not '${values.weights}'`);
  const power = positiveInteger('power', values.power, 12);
  if (power < 8 || power > 16) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--power is in [8, 16] (a setup of 2^power constraints), not ${power}`);
  if (batch > MAX_GROTH16_BATCH) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a Groth16 bundle covers at most ${MAX_GROTH16_BATCH} samples, not ${batch}`);
  const t0 = performance.now();
  const say = (line: string) => process.stderr.write(`maxwell prove: ${line} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const bundle = await proveModel(model, input, batch, {
    weights: values.weights, power, onProgress: say, ...(values['setup-dir'] === undefined ? {} : { cacheDir: values['setup-dir'] }),
  });
  const text = JSON.stringify(bundle) + '\n';
  const proofs = bundle.layers.reduce((s, l) => s + l.chunks.length, 0);
  if (values.out === undefined) process.stdout.write(text);
  else await writeFile(values.out, text);
  console.error(`maxwell prove: ${proofs} Groth16 proofs of ${model.name} on ${batch} sample(s), ${bundle.constraints} constraints, proved in ${bundle.prove_s.toFixed(2)} s (measured; setup excluded)${values.out === undefined ? '' : `: ${values.out}`}`);
  return 0;
}
