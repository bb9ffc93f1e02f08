// The operator dashboard: one page, live over Server-Sent Events, drawn with plain DOM and SVG.
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import land from 'world-atlas/land-110m.json';
import { ago, bar, clear, compact, duration, el, lineChart, sparkline, svg, when } from './ui.js';

interface TopEntry { value: string; count: number }
interface Summary {
  timestamp?: string; source_ip?: string; source_port?: number; destination_port?: number; transport?: string;
  country?: string; asn?: number; as_org?: string; dataset?: string; action?: string; risk?: number; intel?: number;
}
interface LatestEvent { id?: number; at: number; sensor: string; input: string; summary: Summary; json?: string }
interface Sensor {
  id: string; first_seen?: number; last_seen?: number; events: number; inputs: string[]; rate_per_minute: number;
  events_in_window: number; batches_accepted: number; batches_refused: number; last_refused_at?: number; silent: boolean; series: number[];
}
interface Output {
  name: string; type: string; ok: boolean; reason?: string; target?: string;
  outbox?: { events: number; bytes: number; oldest_age_seconds: number; max_bytes: number };
  last_success_at?: number; last_error?: string; dead_letters?: number; dropped?: Record<string, number>;
}
interface Snapshot {
  now: number; started_at: number; window_seconds: number; silent_after_seconds: number; total_events: number;
  rate: { last_minute: number; per_second: number[]; step_seconds: number; inputs: { name: string; last_minute: number; series: number[] }[] };
  sensors: Sensor[]; top: Record<string, TopEntry[]>; sampled_events: number; map: [number, number, number][];
  risk: number[]; intel: { events: number; latest: LatestEvent[] }; outputs: Output[];
  /** Where windows over an hour come from (a ClickHouse output), when there is one. */
  history?: string;
}
interface HistoryAnswer { window_seconds: number; step_seconds: number; start: number; counts: number[]; total: number; top: Record<string, TopEntry[]>; source: string }

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const windowSelect = $<HTMLSelectElement>('window');
const silentSelect = $<HTMLSelectElement>('silent');
const filterInput = $<HTMLInputElement>('filter');
const expanded = new Set<number>();
let events: LatestEvent[] = [];
let last: Snapshot | undefined;
let source: EventSource | undefined;
let longHistory: HistoryAnswer | undefined;
const liveWindow = 3600;
const longWindows: [number, string][] = [[21_600, '6 hours'], [86_400, '24 hours'], [604_800, '7 days']];

const topTitles: Record<string, string> = {
  country: 'Source countries', asn: 'Source ASNs', port: 'Destination ports', ja4: 'JA4 (TLS clients)',
  hassh: 'HASSH (SSH clients)', user_agent: 'User agents', http_path: 'HTTP paths', intel: 'Intel indicators', sensor: 'Sensors (by event name)',
};

// ---- settings ---------------------------------------------------------------------------

function selectValue(select: HTMLSelectElement, value: string | null): void {
  if (value === null) return;
  if (![...select.options].some((o) => o.value === value)) select.append(el('option', { value }, `${duration(Number(value))}`));
  select.value = value;
}
selectValue(windowSelect, params.get('window'));
selectValue(silentSelect, params.get('silent_after'));
filterInput.value = params.get('q') ?? '';

const storedTheme = localStorage.getItem('loom-theme');
if (storedTheme === 'light' || storedTheme === 'dark') document.documentElement.dataset.theme = storedTheme;
$('theme').addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme === 'dark' || (document.documentElement.dataset.theme === undefined && matchMedia('(prefers-color-scheme: dark)').matches);
  const next = dark ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem('loom-theme', next);
});

/** Windows over an hour are answered from ClickHouse; the live parts then show the last hour. */
function longWindow(): boolean {
  return Number(windowSelect.value) > liveWindow;
}

function query(): string {
  return `window=${Math.min(Number(windowSelect.value), liveWindow)}&silent_after=${silentSelect.value}`;
}

async function loadHistory(): Promise<void> {
  if (!longWindow()) {
    longHistory = undefined;
    return;
  }
  const response = await fetch(`/api/v1/dashboard/history?window=${windowSelect.value}`);
  const body = (await response.json()) as HistoryAnswer & { message?: string };
  longHistory = response.ok ? body : undefined;
  $('top-note').textContent = response.ok ? '' : `history: ${body.message ?? response.status}`;
  if (last !== undefined) render(last);
}
window.setInterval(() => void loadHistory(), 30_000);

function remember(): void {
  const url = new URL(location.href);
  url.searchParams.set('window', windowSelect.value);
  url.searchParams.set('silent_after', silentSelect.value);
  if (filterInput.value === '') url.searchParams.delete('q');
  else url.searchParams.set('q', filterInput.value);
  history.replaceState(null, '', url);
}

// ---- live connection --------------------------------------------------------------------

function connect(): void {
  source?.close();
  const live = $('live');
  live.textContent = 'connecting…';
  live.className = 'live';
  source = new EventSource(`/api/v1/dashboard/stream?${query()}`);
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
  source.addEventListener('snapshot', (message) => render(JSON.parse((message as MessageEvent<string>).data) as Snapshot));
  source.addEventListener('event', (message) => {
    const event = JSON.parse((message as MessageEvent<string>).data) as LatestEvent;
    if (!matches(event)) return;
    events = [event, ...events].slice(0, 50);
    renderEvents();
  });
}

async function loadEvents(): Promise<void> {
  const response = await fetch(`/api/v1/dashboard/events?limit=50&q=${encodeURIComponent(filterInput.value)}`);
  if (!response.ok) return;
  events = ((await response.json()) as { events: LatestEvent[] }).events;
  renderEvents();
}

function matches(event: LatestEvent): boolean {
  const needle = filterInput.value.trim().toLowerCase();
  return needle === '' || (event.json ?? '').toLowerCase().includes(needle) || event.sensor.toLowerCase().includes(needle);
}

windowSelect.addEventListener('change', () => { remember(); connect(); void loadHistory(); });
silentSelect.addEventListener('change', () => { remember(); connect(); });
let filterTimer: number | undefined;
filterInput.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => { remember(); void loadEvents(); }, 200);
});

// ---- rendering --------------------------------------------------------------------------

function render(snapshot: Snapshot): void {
  last = snapshot;
  if (snapshot.history !== undefined) {
    for (const [value, label] of longWindows) {
      if (![...windowSelect.options].some((o) => o.value === String(value))) windowSelect.append(el('option', { value: String(value) }, label));
    }
  }
  renderCards(snapshot);
  renderRate(snapshot);
  renderSensors(snapshot);
  renderMap(snapshot);
  renderTop(snapshot);
  renderRisk(snapshot);
  renderIntel(snapshot);
  renderOutputs(snapshot);
}

function card(label: string, value: string, note: string, state: 'ok' | 'bad' | '' = ''): HTMLElement {
  return el('div', { class: `card ${state}` }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), el('div', { class: 'note' }, note));
}

function renderCards(s: Snapshot): void {
  const silent = s.sensors.filter((x) => x.silent).length;
  const badOutputs = s.outputs.filter((o) => !o.ok).length;
  clear($('cards')).append(
    card('Events', compact(s.total_events), `since ${when(s.started_at)}`),
    card('Last minute', compact(s.rate.last_minute), `${(s.rate.last_minute / 60).toFixed(s.rate.last_minute < 600 ? 1 : 0)} per second`),
    card('Sensors', String(s.sensors.length), silent === 0 ? 'all delivering' : `${silent} silent`, silent === 0 ? (s.sensors.length > 0 ? 'ok' : '') : 'bad'),
    card('Outputs', String(s.outputs.length), badOutputs === 0 ? 'all healthy' : `${badOutputs} not ok`, badOutputs === 0 ? 'ok' : 'bad'),
    card('Intel matches', compact(s.intel.events), `in the last ${duration(s.window_seconds)}`, s.intel.events > 0 ? 'bad' : ''),
  );
}

function renderRate(s: Snapshot): void {
  const host = clear($('rate-chart'));
  const h = longWindow() ? longHistory : undefined;
  $('rate-title').textContent = h === undefined ? 'Events per second, last hour' : `Events per ${duration(h.step_seconds)}, last ${duration(h.window_seconds)} (from ClickHouse)`;
  if (h === undefined) host.append(lineChart(s.rate.per_second, { width: 900, height: 180, step: s.rate.step_seconds, now: s.now, unit: '/s' }));
  else host.append(lineChart(h.counts, { width: 900, height: 180, step: h.step_seconds, now: s.now, unit: '' }));
  const inputs = clear($('inputs'));
  for (const input of s.rate.inputs) {
    inputs.append(el('div', { class: 'input' }, el('span', { class: 'name' }, input.name), sparkline(input.series, 120, 24), el('span', { class: 'num' }, `${compact(input.last_minute)}/min`)));
  }
}

function renderSensors(s: Snapshot): void {
  const host = clear($('sensors'));
  if (s.sensors.length === 0) {
    host.append(el('p', { class: 'empty' }, 'No sensor has delivered yet. Point a sensor at the ingest API, or knock on the development sensor.'));
    return;
  }
  const table = el('table', { class: 'grid sensors' },
    el('thead', {}, el('tr', {}, ...['', 'Sensor', 'Last seen', 'Events / min', 'Last hour', 'Events', 'Inputs', 'Delivery'].map((t) => el('th', {}, t)))));
  const body = el('tbody');
  for (const sensor of s.sensors) {
    const refusedRecently = sensor.last_refused_at !== undefined && s.now - sensor.last_refused_at < s.silent_after_seconds * 1000;
    const delivery = sensor.batches_accepted + sensor.batches_refused === 0
      ? el('span', { class: 'muted' }, 'nothing received')
      : refusedRecently
      ? el('span', { class: 'badge bad' }, `${plural(sensor.batches_refused, 'batch', 'batches')} refused, last ${ago(s.now, sensor.last_refused_at as number)}`)
      : el('span', { class: 'badge ok' }, `${plural(sensor.batches_accepted, 'batch', 'batches')} accepted`);
    body.append(el('tr', { class: sensor.silent ? 'silent' : '', 'data-sensor': sensor.id },
      el('td', {}, sensor.silent
        ? el('span', { class: 'flag', title: sensor.last_seen === undefined ? 'has a token but delivered nothing since Loom started' : `no event for over ${duration(s.silent_after_seconds)}` }, 'SILENT')
        : el('span', { class: 'dot ok', title: 'delivering' }, '●')),
      el('td', { class: 'mono' }, sensor.id),
      el('td', {}, sensor.last_seen === undefined ? 'never (since start)' : ago(s.now, sensor.last_seen)),
      el('td', { class: 'num' }, compact(sensor.rate_per_minute)),
      el('td', {}, sparkline(sensor.series, 120, 22)),
      el('td', { class: 'num' }, compact(sensor.events)),
      el('td', {}, sensor.inputs.join(', ')),
      el('td', {}, delivery)));
  }
  table.append(body);
  host.append(el('div', { class: 'scroll' }, table));
}

// Equirectangular projection of the land outline, computed once.
const mapWidth = 960;
const mapHeight = 480;
const project = (lon: number, lat: number): [number, number] => [((lon + 180) / 360) * mapWidth, ((90 - lat) / 180) * mapHeight];
const landPath = (() => {
  const topology = land as unknown as Topology<{ land: GeometryCollection }>;
  const geo = feature(topology, topology.objects.land);
  const parts: string[] = [];
  for (const f of geo.features) {
    const g = f.geometry;
    const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    for (const polygon of polygons) {
      for (const ring of polygon) {
        let previous: number | undefined;
        parts.push(ring.map(([lon, lat]) => {
          const [x, y] = project(lon as number, lat as number);
          // A ring that crosses the antimeridian continues on the other side of the map.
          const jump = previous === undefined || Math.abs((lon as number) - previous) > 180;
          previous = lon as number;
          return `${jump ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
        }).join('') + 'Z');
      }
    }
  }
  return parts.join('');
})();

function renderMap(s: Snapshot): void {
  // Without Antarctica and the far north: where attackers are, at a readable height.
  const [, top] = project(0, 84);
  const [, bottom] = project(0, -58);
  const root = svg('svg', { viewBox: `0 ${top} ${mapWidth} ${bottom - top}`, class: 'world', role: 'img', 'aria-label': 'source locations' });
  root.append(svg('path', { d: landPath, class: 'land' }));
  const max = Math.max(1, ...s.map.map((p) => p[2]));
  for (const [lat, lon, count] of [...s.map].reverse()) {
    const [x, y] = project(lon, lat);
    const circle = svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: (3 + 12 * Math.sqrt(count / max)).toFixed(1), class: 'spot' });
    circle.append(svg('title', {}, `${lat}°, ${lon}°: ${compact(count)} events`));
    root.append(circle);
  }
  clear($('map')).append(root);
  $('map-note').textContent = s.map.length === 0 ? `no located source in the last ${duration(s.window_seconds)}` : `${s.map.length} places, last ${duration(s.window_seconds)}`;
}

function renderTop(s: Snapshot): void {
  const host = clear($('top'));
  const h = longWindow() ? longHistory : undefined;
  for (const [key, title] of Object.entries(topTitles)) {
    if (h === undefined ? key === 'sensor' : h.top[key] === undefined) continue;
    const entries = (h === undefined ? s.top[key] : h.top[key]) ?? [];
    const max = Math.max(1, ...entries.map((e) => e.count));
    const list = el('ol', { class: 'ranking' });
    for (const entry of entries) {
      list.append(el('li', { title: entry.value }, bar(entry.count / max), el('span', { class: 'val' }, entry.value), el('span', { class: 'num' }, compact(entry.count))));
    }
    host.append(el('div', { class: 'rank', 'data-top': key }, el('h3', {}, title), entries.length === 0 ? el('p', { class: 'empty' }, 'none yet') : list));
  }
  if (h !== undefined) $('top-note').textContent = `last ${duration(h.window_seconds)}, from ClickHouse (${h.source})`;
  else if (!longWindow()) $('top-note').textContent = `last ${duration(s.window_seconds)}${s.sampled_events < s.total_events ? ', from a sample of large batches' : ''}`;
}

function renderRisk(s: Snapshot): void {
  const host = clear($('risk'));
  const total = s.risk.reduce((a, b) => a + b, 0);
  if (total === 0) {
    host.append(el('p', { class: 'empty' }, 'no scored event in this window'));
    return;
  }
  const max = Math.max(1, ...s.risk);
  const w = 360;
  const h = 140;
  const root = svg('svg', { viewBox: `0 0 ${w} ${h + 20}`, class: 'histogram', role: 'img', 'aria-label': 'risk score distribution' });
  s.risk.forEach((n, i) => {
    const bh = (n / max) * h;
    const rect = svg('rect', { x: i * (w / 10) + 2, y: h - bh, width: w / 10 - 4, height: Math.max(bh, n > 0 ? 1 : 0), class: `risk r${i}` });
    rect.append(svg('title', {}, `${i * 10}–${i * 10 + 9}: ${compact(n)} events`));
    root.append(rect, svg('text', { x: i * (w / 10) + w / 20, y: h + 14, class: 'axis', 'text-anchor': 'middle' }, String(i * 10)));
  });
  host.append(root);
}

function renderIntel(s: Snapshot): void {
  const host = clear($('intel'));
  if (s.intel.latest.length === 0) {
    host.append(el('p', { class: 'empty' }, 'no match'));
    return;
  }
  const list = el('ul', { class: 'matches' });
  for (const match of s.intel.latest.slice(0, 8)) {
    list.append(el('li', {}, el('span', { class: 'mono' }, match.summary.source_ip ?? '?'), ` ${match.summary.intel ?? 0} indicator(s), risk ${match.summary.risk ?? '–'} · ${ago(s.now, match.at)}`));
  }
  host.append(list);
}

function renderOutputs(s: Snapshot): void {
  const host = clear($('outputs'));
  const table = el('table', { class: 'grid' }, el('thead', {}, el('tr', {}, ...['Output', 'State', 'Outbox', 'Oldest', 'Last success', 'Drops', 'Dead letters'].map((t) => el('th', {}, t)))));
  const body = el('tbody');
  for (const output of s.outputs) {
    const drops = Object.values(output.dropped ?? {}).reduce((a, b) => a + b, 0);
    body.append(el('tr', { class: output.ok ? '' : 'silent' },
      el('td', {}, el('span', { class: 'mono' }, output.name), el('span', { class: 'muted' }, ` ${output.type}${output.target === undefined ? '' : ` → ${output.target}`}`)),
      el('td', {}, el('span', { class: `badge ${output.ok ? 'ok' : 'bad'}` }, output.ok ? 'ok' : output.reason ?? 'not ok'), output.last_error === undefined ? '' : el('div', { class: 'muted' }, output.last_error)),
      el('td', { class: 'num' }, output.outbox === undefined ? '–' : `${compact(output.outbox.events)} events (${bytes(output.outbox.bytes)})`),
      el('td', { class: 'num' }, output.outbox === undefined ? '–' : duration(output.outbox.oldest_age_seconds)),
      el('td', {}, output.last_success_at === undefined ? '–' : ago(s.now, output.last_success_at)),
      el('td', { class: 'num' }, output.dropped === undefined ? '–' : compact(drops)),
      el('td', { class: 'num' }, output.dead_letters === undefined ? '–' : compact(output.dead_letters))));
  }
  table.append(body);
  host.append(el('div', { class: 'scroll' }, table));
}

function renderEvents(): void {
  const host = clear($('events'));
  if (events.length === 0) {
    host.append(el('p', { class: 'empty' }, filterInput.value === '' ? 'No event yet.' : 'No recent event matches the filter.'));
    return;
  }
  const table = el('table', { class: 'grid events' }, el('thead', {}, el('tr', {}, ...['Time', 'Sensor', 'Source', 'Country / AS', 'Destination', 'Kind', 'Risk'].map((t) => el('th', {}, t)))));
  const body = el('tbody');
  const now = last?.now ?? Date.now();
  for (const event of events) {
    const s = event.summary;
    const key = event.id ?? event.at;
    const row = el('tr', { class: `event${s.intel !== undefined ? ' intel' : ''}`, tabindex: '0', title: 'show the full event' },
      el('td', { title: new Date(event.at).toISOString() }, ago(now, event.at)),
      el('td', { class: 'mono' }, event.sensor),
      el('td', { class: 'mono' }, `${s.source_ip ?? '?'}${s.source_port === undefined ? '' : `:${s.source_port}`}`),
      el('td', {}, [s.country, s.asn === undefined ? undefined : `AS${s.asn}${s.as_org === undefined ? '' : ` ${s.as_org}`}`].filter(Boolean).join(' · ')),
      el('td', { class: 'num' }, s.destination_port === undefined ? '' : `${s.destination_port}${s.transport === undefined ? '' : `/${s.transport}`}`),
      el('td', {}, [s.dataset, s.action].filter(Boolean).join(' ')),
      el('td', { class: 'num' }, s.risk === undefined ? '' : String(s.risk)));
    const toggle = (): void => {
      if (expanded.has(key)) expanded.delete(key);
      else expanded.add(key);
      renderEvents();
    };
    row.addEventListener('click', toggle);
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter') toggle(); });
    body.append(row);
    if (expanded.has(key)) body.append(el('tr', { class: 'detail' }, el('td', { colspan: '7' }, el('pre', { class: 'json' }, pretty(event.json)))));
  }
  table.append(body);
  host.append(el('div', { class: 'scroll' }, table));
}

function pretty(json: string | undefined): string {
  if (json === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function plural(n: number, one: string, many: string): string {
  return `${compact(n)} ${n === 1 ? one : many}`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

// ---- lookup -----------------------------------------------------------------------------

$('lookup').addEventListener('submit', (e) => {
  e.preventDefault();
  const ip = $<HTMLInputElement>('lookup-ip').value.trim();
  const out = $<HTMLPreElement>('lookup-result');
  out.hidden = false;
  out.textContent = 'looking up…';
  void fetch(`/api/v1/dashboard/lookup?ip=${encodeURIComponent(ip)}`).then(async (response) => {
    const body = (await response.json()) as { results?: unknown[]; message?: string };
    out.textContent = response.ok ? JSON.stringify(body.results?.[0] ?? body, null, 2) : `${response.status}: ${body.message ?? 'failed'}`;
  }, (error: unknown) => {
    out.textContent = `failed: ${String(error)}`;
  });
});

connect();
void loadEvents();
void loadHistory();
