/**
 * Redaction on hostile input, swept over sizes up to the 1 MiB body limit: the time per character
 * stays flat when every pattern is linear, and grows with the size when one backtracks (a quadratic
 * pattern costs 64× more per character at 1 MiB than at 16 KiB). Runs in this process: redaction
 * is a pure function, and the best of 3 passes keeps a busy machine's pauses out of the figure.
 *
 *   node --import tsx bench/redact-sweep.ts     (prints the table alone)
 */
import { redactText } from '../src/telemetry/redact.js';

export const SWEEP_SIZES = [16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024];

/** Inputs built to make each rule try, and reject, as many candidates as possible. */
const HOSTILE: Record<string, string> = {
  'sk-': 'sk-',
  sk_live_: 'sk_live_',
  'AKIA/ASIA': 'AKIAASIA',
  ghp_: 'ghp_',
  github_pat_: 'github_pat_',
  'xoxb-': 'xoxb-',
  AIza: 'AIza',
  bearer: 'bearer ',
  'jwt eyJ-': 'eyJ-',
  'jwt eyJ….': 'eyJaaaaa.',
  'url password': 'a://b:',
  'private key': '-----BEGIN RSA PRIVATE KEY-----',
  'real secrets': 'key sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE and postgres://u:pw1@h/db ',
  'plain prose': 'the agent read the ticket and answered it. ',
};

/** A pass slower than this stops the sweep for that input: a quadratic pattern would take minutes at 1 MiB. */
const PASS_LIMIT_NS = 2e9;

export interface SweepRow {
  input: string;
  /** best-of-3 nanoseconds per input character, one per SWEEP_SIZES entry; null where the sweep stopped */
  nsPerChar: (number | null)[];
  /** nsPerChar at the largest size / at the smallest: ≈ 1 when linear, Infinity when the sweep stopped */
  growth: number;
}

function nsPerChar(text: string): number {
  let best = Infinity;
  for (let pass = 0; pass < 3 && (pass === 0 || best < PASS_LIMIT_NS); pass++) {
    const t0 = process.hrtime.bigint();
    redactText(text);
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return best / text.length;
}

export function redactionSweep(): SweepRow[] {
  return Object.entries(HOSTILE).map(([input, unit]) => {
    const perChar: (number | null)[] = [];
    for (const size of SWEEP_SIZES) {
      const last = perChar[perChar.length - 1];
      perChar.push(
        last === null || (last !== undefined && last * size > PASS_LIMIT_NS)
          ? null
          : nsPerChar(unit.repeat(Math.ceil(size / unit.length)).slice(0, size)),
      );
    }
    const [first, end] = [perChar[0]!, perChar[perChar.length - 1]];
    return { input, nsPerChar: perChar, growth: end === null || end === undefined ? Infinity : end / first };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kib = SWEEP_SIZES.map((s) => `${s / 1024} KiB`);
  console.log(`| input | ${kib.join(' | ')} | growth |`);
  console.log(`|---|${kib.map(() => '---').join('|')}|---|`);
  for (const r of redactionSweep())
    console.log(
      `| ${r.input} | ${r.nsPerChar.map((n) => (n === null ? 'stopped' : `${n.toFixed(1)} ns/char`)).join(' | ')} | ${r.growth.toFixed(2)}× |`,
    );
}
