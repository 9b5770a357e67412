/** Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart. */

/** The header and rows as lines; columns for which `right(i)` holds are right-aligned (numbers). */
export function alignColumns(head: string[], rows: string[][], right: (column: number) => boolean): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
