// The few parts of snarkjs 0.7 (which ships no types) that Maxwell uses. File arguments are paths,
// or `{ type: 'mem', data? }` objects that snarkjs fills in (witnesses kept in memory).
declare module 'snarkjs' {
  export type FileRef = string | { type: 'mem'; data?: Uint8Array };
  export interface Logger {
    debug(msg: string): void;
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export interface VerificationKey {
    protocol: string;
    curve: string;
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    vk_alphabeta_12: string[][][];
    IC: string[][];
  }
  /** An ffjavascript curve: opaque here except for what setup.ts touches. */
  export interface Curve {
    terminate(): Promise<void>;
    [k: string]: unknown;
  }
  export const groth16: {
    prove(zkey: FileRef, witness: FileRef, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: (string | bigint)[], proof: Groth16Proof, logger?: Logger): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: FileRef, out: FileRef): Promise<void>;
    check(r1cs: FileRef, wtns: FileRef, logger?: Logger): Promise<boolean>;
  };
  export const powersOfTau: {
    newAccumulator(curve: Curve, power: number, out: string, logger?: Logger): Promise<unknown>;
    contribute(input: string, out: string, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    preparePhase2(input: string, out: string, logger?: Logger): Promise<void>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, out: string, logger?: Logger): Promise<unknown>;
    contribute(input: string, out: string, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    exportVerificationKey(zkey: string, logger?: Logger): Promise<VerificationKey>;
  };
  export const curves: {
    getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<Curve>;
  };
}
