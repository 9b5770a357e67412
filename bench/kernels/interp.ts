// Benchmark kernel `interp`: a branchy bytecode interpreter (small stack VM).
// Benchmark size and unmetered time: params.json (see README.md).
//
// No imports (built with `--runtime stub --use abort=`). Exports `memory` and
// `run(n)`. The dispatch loop is one `switch` on the opcode, which asc/binaryen
// compile to a `br_table`. Work grows linearly in n: the program below runs
// n iterations of its loop, 31 to 34 dispatched instructions each (98 per
// three iterations) plus 9 more (setup, final test, HALT).
//
// Machine: code is an array of i32 words (opcode, then its operand if any);
// an i32 operand stack in linear memory; 4 i32 registers r0..r3.
//   HALT      stop; result = top of stack (0 if empty)
//   PUSH v    push v
//   ADD SUB MUL MOD LT   pop b, pop a, push a op b (i32 wrapping; MOD is
//             signed remainder and traps on b = 0; LT pushes 1 or 0, signed)
//   JMP t     pc = t
//   JZ t      pop a; if a == 0 then pc = t
//   DUP       push top; SWAP: exchange the top two; DROP: pop
//   LOAD r    push r[r]; STORE r: pop into r[r]
//
// The fixed program (r0 = n on entry, M = 1000003):
//   acc = 0; i = 0
//   while (i < n) {
//     x = i % 40009; acc = (acc + x * x) % M
//     switch (i % 3) {
//       case 0: acc = (M - 1) - acc
//       case 1: acc = (acc * 7) % M
//       case 2: acc = (acc + i) % M
//     }
//     i = i + 1
//   }
//   return acc
// All intermediate values stay in 0..2^31 - 1 for 0 <= n < 2^31 - M, so the
// result equals the plain integer arithmetic. An unknown opcode traps.

const OP_HALT = 0;
const OP_PUSH = 1;
const OP_ADD = 2;
const OP_SUB = 3;
const OP_MUL = 4;
const OP_MOD = 5;
const OP_LT = 6;
const OP_JMP = 7;
const OP_JZ = 8;
const OP_DUP = 9;
const OP_SWAP = 10;
const OP_DROP = 11;
const OP_LOAD = 12;
const OP_STORE = 13;

// The program, with the word address of each line (jump operands are word
// addresses: top = 8, case0 = 55, case1 = 66, next = 76, done = 85).
// 0:  PUSH 0, STORE 1            i = 0
// 4:  PUSH 0, STORE 2            acc = 0
// 8:  top: LOAD 1, LOAD 0, LT, JZ done
// 15: LOAD 1, PUSH 40009, MOD, DUP, MUL      x * x
// 22: LOAD 2, ADD, PUSH M, MOD, STORE 2      acc = (acc + x*x) % M
// 30: LOAD 1, PUSH 3, MOD, DUP, JZ case0     r = i % 3 (kept on the stack)
// 38: PUSH 1, SUB, JZ case1
// 43: case 2: LOAD 2, LOAD 1, ADD, PUSH M, MOD, STORE 2, JMP next
// 55: case0: DROP, LOAD 2, PUSH M-1, SWAP, SUB, STORE 2, JMP next
// 66: case1: LOAD 2, PUSH 7, MUL, PUSH M, MOD, STORE 2
// 76: next: LOAD 1, PUSH 1, ADD, STORE 1, JMP top
// 85: done: LOAD 2, HALT
const PROGRAM: usize = memory.data<i32>([
  OP_PUSH, 0, OP_STORE, 1,
  OP_PUSH, 0, OP_STORE, 2,
  /* 8 top */ OP_LOAD, 1, OP_LOAD, 0, OP_LT, OP_JZ, 85,
  /* 15 */ OP_LOAD, 1, OP_PUSH, 40009, OP_MOD, OP_DUP, OP_MUL,
  /* 22 */ OP_LOAD, 2, OP_ADD, OP_PUSH, 1000003, OP_MOD, OP_STORE, 2,
  /* 30 */ OP_LOAD, 1, OP_PUSH, 3, OP_MOD, OP_DUP, OP_JZ, 55,
  /* 38 */ OP_PUSH, 1, OP_SUB, OP_JZ, 66,
  /* 43 */ OP_LOAD, 2, OP_LOAD, 1, OP_ADD, OP_PUSH, 1000003, OP_MOD, OP_STORE, 2, OP_JMP, 76,
  /* 55 */ OP_DROP, OP_LOAD, 2, OP_PUSH, 1000002, OP_SWAP, OP_SUB, OP_STORE, 2, OP_JMP, 76,
  /* 66 */ OP_LOAD, 2, OP_PUSH, 7, OP_MUL, OP_PUSH, 1000003, OP_MOD, OP_STORE, 2,
  /* 76 */ OP_LOAD, 1, OP_PUSH, 1, OP_ADD, OP_STORE, 1, OP_JMP, 8,
  /* 85 */ OP_LOAD, 2, OP_HALT,
]);

const STACK_WORDS = 64; // the program never holds more than 3
const STACK: usize = memory.data(STACK_WORDS * 4, 16);
const REGS: usize = memory.data(4 * 4, 16);

/** Run PROGRAM with r0 = n; returns its result (the final `acc`). */
export function run(n: i32): i32 {
  store<i32>(REGS, n, 0);
  store<i32>(REGS, 0, 4);
  store<i32>(REGS, 0, 8);
  store<i32>(REGS, 0, 12);
  let pc: usize = PROGRAM; // byte address of the next code word
  let sp: usize = STACK; // byte address of the next free stack slot
  // The program is fixed and known to be well formed, so there are no stack
  // bounds checks; register numbers are masked to 0..3.
  while (true) {
    const op = load<i32>(pc);
    pc += 4;
    switch (op) {
      case OP_HALT:
        return sp > STACK ? load<i32>(sp - 4) : 0;
      case OP_PUSH:
        store<i32>(sp, load<i32>(pc));
        sp += 4;
        pc += 4;
        break;
      case OP_ADD:
        sp -= 4;
        store<i32>(sp - 4, load<i32>(sp - 4) + load<i32>(sp));
        break;
      case OP_SUB:
        sp -= 4;
        store<i32>(sp - 4, load<i32>(sp - 4) - load<i32>(sp));
        break;
      case OP_MUL:
        sp -= 4;
        store<i32>(sp - 4, load<i32>(sp - 4) * load<i32>(sp));
        break;
      case OP_MOD:
        sp -= 4;
        store<i32>(sp - 4, load<i32>(sp - 4) % load<i32>(sp));
        break;
      case OP_LT:
        sp -= 4;
        store<i32>(sp - 4, <i32>(load<i32>(sp - 4) < load<i32>(sp)));
        break;
      case OP_JMP:
        pc = PROGRAM + (<usize>load<i32>(pc) << 2);
        break;
      case OP_JZ:
        sp -= 4;
        if (load<i32>(sp) == 0) {
          pc = PROGRAM + (<usize>load<i32>(pc) << 2);
        } else {
          pc += 4;
        }
        break;
      case OP_DUP:
        store<i32>(sp, load<i32>(sp - 4));
        sp += 4;
        break;
      case OP_SWAP: {
        const t = load<i32>(sp - 4);
        store<i32>(sp - 4, load<i32>(sp - 8));
        store<i32>(sp - 8, t);
        break;
      }
      case OP_DROP:
        sp -= 4;
        break;
      case OP_LOAD:
        store<i32>(sp, load<i32>(REGS + ((<usize>load<i32>(pc) & 3) << 2)));
        sp += 4;
        pc += 4;
        break;
      case OP_STORE:
        sp -= 4;
        store<i32>(REGS + ((<usize>load<i32>(pc) & 3) << 2), load<i32>(sp));
        pc += 4;
        break;
      default:
        unreachable();
    }
  }
  return 0; // not reached
}
