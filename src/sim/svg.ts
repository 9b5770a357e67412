/**
 * SVG plots, written by hand (no plotting library): line charts and a heat map. Each function
 * returns a complete SVG document as a string. Numbers are printed with few digits. The heat
 * map's cells are one embedded PNG (a pixel a cell, scaled without smoothing): as rectangles, 200
 * rows × 240 columns made a file of several megabytes; as a PNG, tens of kilobytes.
 */
import { deflateSync } from 'node:zlib';

export interface Series {
  name: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color?: string;
  /** Dashed line. */
  dash?: boolean;
  width?: number;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines (a limit, a cap). */
  hLines?: { y: number; label: string; color?: string }[];
  /** Shaded bands between two series (a percentile range). */
  bands?: { xs: ArrayLike<number>; lo: ArrayLike<number>; hi: ArrayLike<number>; color: string; name: string }[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number with at most `digits` significant digits, no exponent for plot ranges. */
function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return '0';
  const r = Number(v.toPrecision(digits));
  return String(r);
}

/** Round tick positions covering [lo, hi]: 1, 2 or 5 × 10^k apart, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${fmt(v / 1e6, 3)}M`;
  if (a >= 1e4) return `${fmt(v / 1e3, 3)}k`;
  return fmt(v, 4);
}

interface Frame {
  x0: number;
  y0: number;
  w: number;
  h: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

function px(f: Frame, x: number): number {
  return f.x0 + ((x - f.xMin) / (f.xMax - f.xMin || 1)) * f.w;
}
function py(f: Frame, y: number): number {
  return f.y0 + f.h - ((y - f.yMin) / (f.yMax - f.yMin || 1)) * f.h;
}

function axes(f: Frame, title: string, xLabel: string, yLabel: string, width: number, height: number): string[] {
  const out: string[] = [];
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  for (const t of niceTicks(f.xMin, f.xMax, 8)) {
    const x = fmt(px(f, t), 5);
    out.push(`<line x1="${x}" y1="${f.y0}" x2="${x}" y2="${f.y0 + f.h}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${f.y0 + f.h + 16}" text-anchor="middle" font-size="11">${tickLabel(t)}</text>`);
  }
  for (const t of niceTicks(f.yMin, f.yMax, 6)) {
    const y = fmt(py(f, t), 5);
    out.push(`<line x1="${f.x0}" y1="${y}" x2="${f.x0 + f.w}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${f.x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${tickLabel(t)}</text>`);
  }
  out.push(`<rect x="${f.x0}" y="${f.y0}" width="${f.w}" height="${f.h}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${f.x0 + f.w / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`);
  out.push(`<text x="16" y="${f.y0 + f.h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${f.y0 + f.h / 2})">${escapeXml(yLabel)}</text>`);
  return out;
}

function range(values: Iterable<ArrayLike<number>>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of values) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

export function lineChart(c: LineChart): string {
  const width = c.width ?? 900;
  const height = c.height ?? 420;
  const legendW = 170;
  const [xLo, xHi] = range(c.series.map((s) => s.xs));
  const ys = [...c.series.map((s) => s.ys), ...(c.bands ?? []).flatMap((b) => [b.lo, b.hi]), c.hLines?.map((h) => h.y) ?? []];
  let [yLo, yHi] = range(ys);
  const pad = (yHi - yLo) * 0.05;
  yLo = c.yMin ?? yLo - pad;
  yHi = c.yMax ?? yHi + pad;
  const f: Frame = { x0: 70, y0: 36, w: width - 70 - legendW - 10, h: height - 36 - 50, xMin: xLo, xMax: xHi, yMin: yLo, yMax: yHi };
  const out = axes(f, c.title, c.xLabel, c.yLabel, width, height);
  const legend: { name: string; color: string; dash: boolean; band: boolean }[] = [];
  for (const b of c.bands ?? []) {
    const pts: string[] = [];
    for (let i = 0; i < b.xs.length; i++) pts.push(`${fmt(px(f, b.xs[i]!), 5)},${fmt(py(f, b.hi[i]!), 5)}`);
    for (let i = b.xs.length - 1; i >= 0; i--) pts.push(`${fmt(px(f, b.xs[i]!), 5)},${fmt(py(f, b.lo[i]!), 5)}`);
    out.push(`<polygon points="${pts.join(' ')}" fill="${b.color}" fill-opacity="0.25" stroke="none"/>`);
    legend.push({ name: b.name, color: b.color, dash: false, band: true });
  }
  c.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const pts: string[] = [];
    for (let i = 0; i < s.xs.length; i++) {
      const y = s.ys[i]!;
      if (Number.isFinite(y)) pts.push(`${fmt(px(f, s.xs[i]!), 5)},${fmt(py(f, Math.max(yLo, Math.min(yHi, y))), 5)}`);
    }
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.5}"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    legend.push({ name: s.name, color, dash: s.dash === true, band: false });
  });
  for (const h of c.hLines ?? []) {
    const y = fmt(py(f, h.y), 5);
    const color = h.color ?? '#555';
    out.push(`<line x1="${f.x0}" y1="${y}" x2="${f.x0 + f.w}" y2="${y}" stroke="${color}" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${f.x0 + f.w - 4}" y="${Number(y) - 4}" text-anchor="end" font-size="11" fill="${color}">${escapeXml(h.label)}</text>`);
  }
  const lx = f.x0 + f.w + 14;
  legend.forEach((l, k) => {
    const y = f.y0 + 10 + k * 18;
    out.push(l.band
      ? `<rect x="${lx}" y="${y - 5}" width="22" height="10" fill="${l.color}" fill-opacity="0.25"/>`
      : `<line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${l.color}" stroke-width="2"${l.dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 28}" y="${y}" dominant-baseline="middle" font-size="11">${escapeXml(l.name)}</text>`);
  });
  return svgDocument(width, height, out);
}

function svgDocument(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n${body.join('\n')}\n</svg>\n`;
}

/** Whether the columns are all as wide (to within a part in a thousand): then they can be pixels. */
function uniformEdges(edges: ArrayLike<number>, cols: number): boolean {
  const w = (edges[cols]! - edges[0]!) / cols;
  if (!(w > 0)) return false;
  for (let c = 0; c <= cols; c++) if (Math.abs(edges[c]! - (edges[0]! + c * w)) > 1e-3 * w) return false;
  return true;
}

/** heatColor(t) as bytes, into out[at..at+2]. */
export function heatRgb(t: number, out: Uint8Array, at: number): void {
  const hex = heatColor(t);
  out[at] = parseInt(hex.slice(1, 3), 16);
  out[at + 1] = parseInt(hex.slice(3, 5), 16);
  out[at + 2] = parseInt(hex.slice(5, 7), 16);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal PNG (RFC 2083): 8-bit RGB, no interlace, filter 0 on every scanline, one IDAT. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && rgb.length === width * height * 3)) throw new RangeError('a PNG of width × height RGB pixels');
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Blue (cool) → white-ish yellow → red (hot): the colour of t ∈ [0, 1]. */
export function heatColor(t: number): string {
  const stops: [number, number, number, number][] = [
    [0, 49, 54, 149],
    [0.25, 69, 117, 180],
    [0.5, 255, 255, 191],
    [0.75, 244, 109, 67],
    [1, 165, 0, 38],
  ];
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  let k = 0;
  while (k < stops.length - 2 && x > stops[k + 1]![0]) k++;
  const [a, ra, ga, ba] = stops[k]!;
  const [b, rb, gb, bb] = stops[k + 1]!;
  const u = (x - a) / (b - a);
  const hex = (v: number) => Math.round(v).toString(16).padStart(2, '0');
  return `#${hex(ra + (rb - ra) * u)}${hex(ga + (gb - ga) * u)}${hex(ba + (bb - ba) * u)}`;
}

export interface HeatMap {
  title: string;
  /** values[row × cols + col]. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  /** The x value at the left edge of each column, and of the right edge of the last (cols + 1 values). */
  xEdges: ArrayLike<number>;
  xLabel: string;
  yLabel: string;
  /** Row indices where a new group (a rack) starts, with its label. */
  groups?: { row: number; label: string }[];
  min: number;
  max: number;
  unit: string;
  /** Values at or above this get a black outline in the colour bar (the throttle limit). */
  markAt?: { value: number; label: string };
  width?: number;
  height?: number;
}

export function heatMap(m: HeatMap): string {
  const width = m.width ?? 1000;
  const height = m.height ?? Math.max(320, Math.min(900, 80 + m.rows * 3));
  const barW = 90;
  const f: Frame = { x0: 70, y0: 36, w: width - 70 - barW - 20, h: height - 36 - 50, xMin: m.xEdges[0]!, xMax: m.xEdges[m.cols]!, yMin: 0, yMax: m.rows };
  const out: string[] = [];
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(m.title)}</text>`);
  const rowH = f.h / m.rows;
  const span = m.max - m.min || 1;
  if (uniformEdges(m.xEdges, m.cols)) {
    const rgb = new Uint8Array(m.rows * m.cols * 3);
    for (let i = 0; i < m.rows * m.cols; i++) heatRgb((m.values[i]! - m.min) / span, rgb, i * 3);
    const png = Buffer.from(encodePng(m.cols, m.rows, rgb)).toString('base64');
    const x = px(f, m.xEdges[0]!);
    const w = px(f, m.xEdges[m.cols]!) - x;
    out.push(`<image x="${fmt(x, 5)}" y="${f.y0}" width="${fmt(w, 5)}" height="${f.h}" preserveAspectRatio="none" style="image-rendering:pixelated;image-rendering:crisp-edges" href="data:image/png;base64,${png}"/>`);
  }
  for (let r = 0; r < m.rows && !uniformEdges(m.xEdges, m.cols); r++) {
    const y = fmt(f.y0 + r * rowH, 5);
    const h = fmt(rowH + 0.05, 4);
    // Runs of equal colour in a row are drawn as one rectangle.
    let c = 0;
    while (c < m.cols) {
      const color = heatColor((m.values[r * m.cols + c]! - m.min) / span);
      let e = c + 1;
      while (e < m.cols && heatColor((m.values[r * m.cols + e]! - m.min) / span) === color) e++;
      const x = px(f, m.xEdges[c]!);
      const w = px(f, m.xEdges[e]!) - x;
      out.push(`<rect x="${fmt(x, 5)}" y="${y}" width="${fmt(w + 0.05, 4)}" height="${h}" fill="${color}"/>`);
      c = e;
    }
  }
  for (const g of m.groups ?? []) {
    const y = fmt(f.y0 + g.row * rowH, 5);
    if (g.row > 0) out.push(`<line x1="${f.x0}" y1="${y}" x2="${f.x0 + f.w}" y2="${y}" stroke="#000" stroke-width="0.6"/>`);
    out.push(`<text x="${f.x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="hanging" font-size="9">${escapeXml(g.label)}</text>`);
  }
  for (const t of niceTicks(f.xMin, f.xMax, 8)) {
    const x = fmt(px(f, t), 5);
    out.push(`<line x1="${x}" y1="${f.y0 + f.h}" x2="${x}" y2="${f.y0 + f.h + 4}" stroke="#444"/>`);
    out.push(`<text x="${x}" y="${f.y0 + f.h + 16}" text-anchor="middle" font-size="11">${tickLabel(t)}</text>`);
  }
  out.push(`<rect x="${f.x0}" y="${f.y0}" width="${f.w}" height="${f.h}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${f.x0 + f.w / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(m.xLabel)}</text>`);
  out.push(`<text x="14" y="${f.y0 + f.h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${f.y0 + f.h / 2})">${escapeXml(m.yLabel)}</text>`);
  // The colour bar.
  const bx = f.x0 + f.w + 24;
  const steps = 50;
  for (let k = 0; k < steps; k++) {
    const y = f.y0 + f.h - ((k + 1) / steps) * f.h;
    out.push(`<rect x="${bx}" y="${fmt(y, 5)}" width="16" height="${fmt(f.h / steps + 0.3, 4)}" fill="${heatColor((k + 0.5) / steps)}"/>`);
  }
  for (const t of niceTicks(m.min, m.max, 6)) {
    const y = fmt(f.y0 + f.h - ((t - m.min) / span) * f.h, 5);
    out.push(`<text x="${bx + 20}" y="${y}" dominant-baseline="middle" font-size="10">${tickLabel(t)} ${escapeXml(m.unit)}</text>`);
  }
  if (m.markAt !== undefined && m.markAt.value >= m.min && m.markAt.value <= m.max) {
    const y = fmt(f.y0 + f.h - ((m.markAt.value - m.min) / span) * f.h, 5);
    out.push(`<line x1="${bx - 4}" y1="${y}" x2="${bx + 20}" y2="${y}" stroke="#000" stroke-width="2"/>`);
    out.push(`<text x="${bx - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="9">${escapeXml(m.markAt.label)}</text>`);
  }
  return svgDocument(width, height, out);
}
