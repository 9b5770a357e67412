// The hand-written SVG plots (src/sim/svg.ts).
import { it } from 'node:test';
import assert from 'node:assert/strict';
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
  // Equal neighbours merge: row 0 is two runs, row 1 one run; plus the colour bar and background.
  const cells = (hm.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#[0-9a-f]{6}"\/>/g) ?? []).length;
  assert.equal(cells, 3 + 50);
});
