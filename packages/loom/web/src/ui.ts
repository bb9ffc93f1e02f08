// Small DOM, SVG and number-formatting helpers for the dashboard.

type Child = Node | string | undefined;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== '') node.setAttribute(name, value);
  }
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

export function svg(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function clear<T extends HTMLElement>(node: T): T {
  node.replaceChildren();
  return node;
}

const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const plainFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** 950, 12.3K, 4.5M. */
export function compact(n: number): string {
  return Math.abs(n) < 10_000 ? plainFormat.format(n) : compactFormat.format(n);
}

/** 45 s, 5 min, 1 h 30 min, 2 d. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172_800) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  return `${Math.round(s / 86_400)} d`;
}

export function ago(now: number, then: number): string {
  const seconds = (now - then) / 1000;
  return seconds < 2 ? 'just now' : `${duration(seconds)} ago`;
}

export function when(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** A horizontal bar behind a ranking row, `fraction` of the width. */
export function bar(fraction: number): HTMLElement {
  const node = el('span', { class: 'bar' });
  node.style.width = `${Math.max(1, Math.round(fraction * 100))}%`;
  return node;
}

export function sparkline(values: number[], width: number, height: number): SVGElement {
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'spark', 'aria-hidden': 'true' });
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  root.append(svg('polyline', { points: points.join(' '), class: 'line' }));
  return root;
}

/** An area chart of `values` (oldest first, one per `step` seconds, the last ending at `now`) with a time axis. */
export function lineChart(values: number[], options: { width: number; height: number; step: number; now: number; unit: string }): SVGElement {
  const { width, height, step, now, unit } = options;
  const left = 44;
  const bottom = 20;
  const plotW = width - left - 8;
  const plotH = height - bottom - 8;
  const max = niceMax(Math.max(...values, 0));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'line-chart', role: 'img', 'aria-label': 'events per second' });
  for (const fraction of [0, 0.5, 1]) {
    const y = 8 + plotH - fraction * plotH;
    root.append(svg('line', { x1: left, x2: left + plotW, y1: y, y2: y, class: 'gridline' }));
    root.append(svg('text', { x: left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, `${compact(max * fraction)}${fraction === 1 ? unit : ''}`));
  }
  const n = values.length;
  const x = (i: number): number => left + (n <= 1 ? 0 : (i / (n - 1)) * plotW);
  const y = (v: number): number => 8 + plotH - (v / max) * plotH;
  const line = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  root.append(svg('path', { d: `${line}L${x(n - 1).toFixed(1)},${y(0)}L${x(0)},${y(0)}Z`, class: 'area' }));
  root.append(svg('path', { d: line, class: 'line' }));
  const span = n * step;
  for (const fraction of [1, 0.75, 0.5, 0.25, 0]) {
    const i = Math.round((n - 1) * (1 - fraction));
    const label = fraction === 0 ? new Date(now).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : `−${duration(span * fraction)}`;
    root.append(svg('text', { x: x(i), y: height - 4, class: 'axis', 'text-anchor': fraction === 0 ? 'end' : fraction === 1 ? 'start' : 'middle' }, label));
  }
  return root;
}

function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}
