// The hand-written SVG plots (src/sim/svg.ts).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { heatColor, heatMap, lineChart, niceTicks } from '../../src/sim/svg.js';

it('ticks are round numbers covering the range', () => {
  assert.deepEqual(niceTicks(0, 60, 6), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(niceTicks(0.13, 0.61, 5), [0.2, 0.3, 0.4, 0.5, 0.6]);
  assert.deepEqual(niceTicks(5, 5), [5]);
});

it('colours run from blue through yellow to red, clamped', () => {
  assert.equal(heatColor(0), '#313695');
  assert.equal(heatColor(1), '#a50026');
  assert.equal(heatColor(-3), heatColor(0));
  assert.equal(heatColor(7), heatColor(1));
  assert.equal(heatColor(Number.NaN), heatColor(0));
});

it('a line chart and a heat map are complete SVG documents, text escaped', () => {
  const xs = [0, 1, 2, 3];
  const svg = lineChart({ title: 'a < b & c', xLabel: 'x', yLabel: 'y', series: [{ name: 's', xs, ys: [1, 2, Number.NaN, 4] }], hLines: [{ y: 3, label: 'cap' }] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.match(svg, /a &lt; b &amp; c/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 1);
  const hm = heatMap({ title: 't', values: [1, 1, 2, 3, 3, 3], rows: 2, cols: 3, xEdges: [0, 1, 2, 3], xLabel: 'x', yLabel: 'y', min: 0, max: 3, unit: '°C', groups: [{ row: 0, label: 'rack 0' }, { row: 1, label: 'rack 1' }] });
  assert.match(hm, /<\/svg>\n$/);
  // The cells are one PNG, a pixel a cell: 3 × 2, each the colour of its value.
  const b64 = /href="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(hm)![1]!;
  const png = Buffer.from(b64, 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 3);
  assert.equal(png.readUInt32BE(20), 2);
  const idatLen = png.readUInt32BE(33);
  assert.equal(png.toString('latin1', 37, 41), 'IDAT');
  assert.equal(png.readUInt32BE(41 + idatLen), crc32(png.subarray(37, 41 + idatLen)));
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  assert.equal(raw.length, 2 * (1 + 3 * 3));
  const hex = (at: number) => `#${[0, 1, 2].map((k) => raw[at + k]!.toString(16).padStart(2, '0')).join('')}`;
  assert.equal(hex(1), heatColor(1 / 3));
  assert.equal(hex(1 + 6), heatColor(2 / 3));
  assert.equal(hex(10 + 1 + 6), heatColor(1));
  // Non-uniform columns are drawn as rectangles instead: equal neighbours merge (row 0 two runs, row 1 one), plus the colour bar.
  const uneven = heatMap({ title: 't', values: [1, 1, 2, 3, 3, 3], rows: 2, cols: 3, xEdges: [0, 1, 3, 4], xLabel: 'x', yLabel: 'y', min: 0, max: 3, unit: '°C' });
  assert.doesNotMatch(uneven, /<image/);
  const cells = (uneven.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#[0-9a-f]{6}"\/>/g) ?? []).length;
  assert.equal(cells, 3 + 50);
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
