/**
 * `maxwell verify CLAIM`: checks an inference claim against its model by Freivalds' check (each
 * layer's accumulators, the next inputs derived by the verifier) and reports the soundness bound
 * and the information gain of the verified answers. Outside a node no one issues sessions, so
 * the claim is checked against the agent and session given, by default its own.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { usage } from './args.js';
import { modelHash, type Model } from '../proof/model.js';
import { ClaimVerifier } from '../proof/claim.js';
import { claimFromJson, readJsonFile } from '../proof/files.js';
import { batchInformationGainBits, informationGainBits } from '../proof/infogain.js';
import { hexArg, loadModel } from './prove.js';

export const summary = 'check an inference claim (Freivalds) or a Groth16 bundle against its model and report its information gain';

const HELP = `usage: maxwell verify CLAIM.json --model FILE|infer [--agent HEX] [--session HEX] [--json]
       maxwell verify BUNDLE.json --model FILE|infer [--setup-dir DIR] [--keys-from-bundle] [--json]

Checks the claim's outputs against its model without re-running it: each layer by Freivalds'
check over the prime field just above 2^40, with enough repetitions that a false claim passes
with probability at most 2^-40. Reports the information gain of the verified answers
(log2 C − H(softmax(logits)) bits per sample).

A Groth16 bundle (\`maxwell prove --groth16\`) is checked proof by proof with a cached curve,
every public signal built here from the model, the input and the stated outputs; the keys are
this machine's setup (--setup-dir, default .maxwell/proof), or with --keys-from-bundle the
prover's own (trusting its setup: development only).

options:
  --model FILE|infer   the model the claim names (a model file, or the infer agent's)
  --agent HEX          the agent the claim must be bound to (default: the claim's own)
  --session HEX        the session it must be bound to (default: the claim's own)
  --json               one JSON object
  -h, --help           this help

exit status: 0 verified; 65 the claim is false, malformed, or for another model, agent or session.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      agent: { type: 'string' },
      session: { type: 'string' },
      'setup-dir': { type: 'string' },
      'keys-from-bundle': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `give one CLAIM.json\n\n${HELP}`);
  if (values.model === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--model is required\n\n${HELP}`);
  const model = await loadModel(values.model);
  const j = await readJsonFile(file, ErrorCode.CLAIM_INVALID);
  if ((j as { format?: unknown } | null)?.format === 'maxwell-groth16-v1') return verifyGroth16(model, j, values);
  const claim = claimFromJson(j);
  const verifier = new ClaimVerifier();
  verifier.register(model);
  const t0 = performance.now();
  const v = verifier.verify(claim, {
    agent: hexArg('agent', values.agent, 32, 32, () => claim.agent),
    session: hexArg('session', values.session, 8, 64, () => claim.session),
  });
  const verifyMs = performance.now() - t0;
  const classes = model.layers.at(-1)!.outputs;
  const perSample: number[] = [];
  const predicted: number[] = [];
  const col = new Float64Array(classes);
  for (let k = 0; k < v.batch; k++) {
    let best = 0;
    for (let i = 0; i < classes; i++) {
      col[i] = v.logits[i * v.batch + k]!;
      if (col[i]! > col[best]!) best = i;
    }
    predicted.push(best);
    perSample.push(informationGainBits(col, model.logitScale));
  }
  const totalBits = perSample.reduce((a, b) => a + b, 0);
  if (values.json) {
    console.log(JSON.stringify({
      verified: true, model: model.name, model_hash: modelHash(model).toString('hex'), digest: v.digest.toString('hex'),
      batch: v.batch, repetitions: v.repetitions, soundness_bits: v.soundnessBits, verify_ms: verifyMs,
      information_gain_bits: totalBits, information_gain_bits_per_sample: perSample, predicted,
    }));
    return 0;
  }
  console.log(`verified: ${v.batch} sample(s) on ${model.name}; a false claim passes with probability ≤ 2^-${v.soundnessBits.toFixed(1)} (${v.repetitions} repetition(s) per layer); ${verifyMs.toFixed(2)} ms (measured)`);
  console.log(`information gain: ${totalBits.toFixed(3)} bits in all, ${(totalBits / v.batch).toFixed(3)} bits per sample (of at most ${Math.log2(classes).toFixed(3)})`);
  console.log(`predicted classes: ${predicted.join(' ')}`);
  return 0;
}

async function verifyGroth16(model: Model, j: unknown, values: { json?: boolean; 'setup-dir'?: string; 'keys-from-bundle'?: boolean }): Promise<number> {
  const { verifyModelProof } = await import('../proof/groth16/model-proof.js');
  const { Groth16Verifier } = await import('../proof/groth16/verifier.js');
  const t0 = performance.now();
  const verifier = await Groth16Verifier.create();
  const curveMs = performance.now() - t0;
  try {
    const r = await verifyModelProof(model, j, {
      verifier, keysFromBundle: values['keys-from-bundle'] === true, ...(values['setup-dir'] === undefined ? {} : { cacheDir: values['setup-dir'] }),
    });
    const classes = model.layers.at(-1)!.outputs;
    const bits = batchInformationGainBits(r.logits, classes, r.batch, model.logitScale);
    if (values.json) {
      console.log(JSON.stringify({
        verified: true, proof_system: 'groth16', model: model.name, model_hash: modelHash(model).toString('hex'), batch: r.batch, proofs: r.proofs,
        verify_ms: r.verifyMs, curve_build_ms: curveMs, keys: values['keys-from-bundle'] ? 'bundle' : 'local setup', information_gain_bits: bits,
      }));
      return 0;
    }
    console.log(`verified: ${r.proofs} Groth16 proof(s) of ${model.name} on ${r.batch} sample(s) in ${r.verifyMs.toFixed(1)} ms, after ${curveMs.toFixed(0)} ms building the curve (measured); keys: ${values['keys-from-bundle'] ? "the bundle's (the prover's setup, trusted)" : "this machine's setup"}`);
    console.log(`information gain: ${bits.toFixed(3)} bits in all, ${(bits / r.batch).toFixed(3)} bits per sample (of at most ${Math.log2(classes).toFixed(3)})`);
    return 0;
  } finally {
    await verifier.terminate();
  }
}
