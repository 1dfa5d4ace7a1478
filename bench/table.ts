/** The bench's table: one row per figure, its baseline, ratio and target, pass or FAIL. */
export type Row = [figure: string, bridge: string, baseline: string, ratio: string, target: string, pass: boolean | null];

export const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** truncated, not rounded: a ratio shown as meeting its target does meet it (0.496 shows as 0.49) */
export const x = (n: number) => `${(Math.floor(n * 100) / 100).toFixed(2)}×`;

export function renderTable(rows: Row[]): string {
  const header: Row = ['figure', 'bridge', 'baseline', 'ratio', 'target', null];
  const cells = [header, ...rows].map((r) => [...r.slice(0, 5), r[5] === null ? '' : r[5] ? 'pass' : 'FAIL'] as string[]);
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
