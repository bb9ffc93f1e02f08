import type { Batch } from '../sinks/types.js';

/** The dimensions ranked in the dashboard's "top" tables. */
export const dimensions = ['country', 'asn', 'port', 'ja4', 'hassh', 'user_agent', 'http_path', 'intel'] as const;
export type Dimension = (typeof dimensions)[number];

export interface AggregatorLimits {
  /** Series kept per sensor and per input; more are summed into one more, "(other)". */
  maxSeries: number;
  /** Distinct values kept per dimension and minute; more are counted as "(other)". */
  maxKeysPerMinute: number;
  /** Events parsed per batch at most; the rest of a bigger batch is sampled. */
  maxParsedPerBatch: number;
  /** Latest events kept (each cut to maxEventBytes). */
  latestEvents: number;
  maxEventBytes: number;
}

export const defaultLimits: AggregatorLimits = {
  maxSeries: 200,
  maxKeysPerMinute: 300,
  maxParsedPerBatch: 64,
  latestEvents: 200,
  maxEventBytes: 16 * 1024,
};

const hour = 3600;
const minutes = 60;
const other = '(other)';

/** Events per second over the last hour, in a ring indexed by the second. */
class SecondSeries {
  private readonly counts = new Uint32Array(hour);
  private readonly stamps = new Float64Array(hour);

  add(second: number, n: number): void {
    const i = second % hour;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] as number) + n;
  }

  /** The last `length` seconds ending at `now`, oldest first, summed per `step` seconds. */
  read(now: number, length: number, step: number): number[] {
    const out: number[] = [];
    for (let start = now - length + 1; start <= now; start += step) {
      let sum = 0;
      for (let s = start; s < start + step && s <= now; s++) {
        const i = ((s % hour) + hour) % hour;
        if (this.stamps[i] === s) sum += this.counts[i] as number;
      }
      out.push(sum);
    }
    return out;
  }

  total(now: number, seconds: number): number {
    return this.read(now, seconds, seconds)[0] ?? 0;
  }
}

interface MinuteBucket {
  minute: number;
  top: Map<Dimension, Map<string, number>>;
  /** "lat,lon" rounded to a degree → [lat, lon, count]. */
  points: Map<string, [number, number, number]>;
  risk: number[];
  events: number;
  intelEvents: number;
}

export interface SensorState {
  id: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
  inputs: Set<string>;
  accepted: number;
  refused: number;
  lastRefusedAt: number | undefined;
  series: SecondSeries;
}

export interface LatestEvent {
  at: number;
  sensor: string;
  input: string;
  summary: EventSummary;
  json: string;
}

export interface EventSummary {
  timestamp?: string;
  source_ip?: string;
  source_port?: number;
  destination_port?: number;
  transport?: string;
  country?: string;
  asn?: number;
  as_org?: string;
  dataset?: string;
  action?: string;
  risk?: number;
  intel?: number;
}

/**
 * Rolling aggregates of what went through the pipeline, for the dashboard: exact counts
 * per second (overall, per sensor, per input) and, from a sample of each batch, per-minute
 * top values, source locations, risk scores and the latest events. Memory is bounded by
 * the limits; nothing is kept for longer than an hour.
 */
export class DashboardAggregator {
  private readonly overall = new SecondSeries();
  private readonly sensors = new Map<string, SensorState>();
  private readonly inputs = new Map<string, SecondSeries>();
  private readonly buckets: (MinuteBucket | undefined)[] = new Array<MinuteBucket | undefined>(minutes);
  private readonly latest: (LatestEvent | undefined)[];
  private latestNext = 0;
  private readonly intelMatches: LatestEvent[] = [];
  private totalEvents = 0;
  private readonly startedAt: number;
  private readonly decoder = new TextDecoder();
  private listeners = new Set<(event: LatestEvent & { id: number }) => void>();

  constructor(
    private readonly limits: AggregatorLimits = defaultLimits,
    private readonly clock: () => number = Date.now,
  ) {
    this.latest = new Array<LatestEvent | undefined>(limits.latestEvents);
    this.startedAt = clock();
  }

  /** Counts one batch after the pipeline dealt with it; `accepted` is false when no output took it. */
  record(batch: Batch, accepted: boolean): void {
    if (batch.count === 0) return;
    const now = this.clock();
    const sensor = this.sensor(batch.sensorId, now);
    if (!accepted) {
      sensor.refused++;
      sensor.lastRefusedAt = now;
      return;
    }
    const second = Math.floor(now / 1000);
    sensor.accepted++;
    sensor.events += batch.count;
    sensor.lastSeen = now;
    if (sensor.inputs.size < 16) sensor.inputs.add(batch.source);
    sensor.series.add(second, batch.count);
    this.overall.add(second, batch.count);
    this.inputSeries(batch.source).add(second, batch.count);
    this.totalEvents += batch.count;
    this.sample(batch, now);
  }

  /** Called with every event kept in the latest-events list. */
  onEvent(listener: (event: LatestEvent & { id: number }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Everything the dashboard shows except outputs, over the last `windowSeconds` (60 … 3600). */
  snapshot(windowSeconds: number, silentAfterSeconds: number, knownSensors: readonly string[] = []): DashboardSnapshot {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    const window = Math.min(hour, Math.max(60, Math.round(windowSeconds)));
    const buckets = this.bucketsWithin(now, window);
    const top = {} as Record<Dimension, { value: string; count: number }[]>;
    for (const dimension of dimensions) top[dimension] = rank(buckets.map((b) => b.top.get(dimension)), 10);
    const points = new Map<string, [number, number, number]>();
    const risk = new Array<number>(10).fill(0);
    let sampled = 0;
    let intelEvents = 0;
    for (const bucket of buckets) {
      sampled += bucket.events;
      intelEvents += bucket.intelEvents;
      bucket.risk.forEach((n, i) => (risk[i] = (risk[i] as number) + n));
      for (const [key, [lat, lon, n]] of bucket.points) {
        const point = points.get(key);
        if (point === undefined) points.set(key, [lat, lon, n]);
        else point[2] += n;
      }
    }
    const sensors: DashboardSnapshot['sensors'] = [...this.sensors.values()].map((s) => {
      const silentFor = (now - s.lastSeen) / 1000;
      return {
        id: s.id,
        first_seen: s.firstSeen,
        last_seen: s.events > 0 ? s.lastSeen : undefined,
        events: s.events,
        inputs: [...s.inputs],
        rate_per_minute: s.series.total(second, 60),
        events_in_window: s.series.total(second, window),
        batches_accepted: s.accepted,
        batches_refused: s.refused,
        last_refused_at: s.lastRefusedAt,
        silent: s.events === 0 || silentFor > silentAfterSeconds,
        series: s.series.read(second, hour, 60),
      };
    });
    // Sensors with a token that never delivered since Loom started are silent too.
    const empty = new Array<number>(minutes).fill(0);
    for (const id of knownSensors) {
      if (this.sensors.has(id) || sensors.length >= this.limits.maxSeries * 2) continue;
      sensors.push({
        id, first_seen: undefined, last_seen: undefined, events: 0, inputs: [], rate_per_minute: 0, events_in_window: 0,
        batches_accepted: 0, batches_refused: 0, last_refused_at: undefined, silent: true, series: empty,
      });
    }
    sensors.sort((a, b) => Number(b.silent) - Number(a.silent) || a.id.localeCompare(b.id));
    return {
      now,
      started_at: this.startedAt,
      window_seconds: window,
      silent_after_seconds: silentAfterSeconds,
      total_events: this.totalEvents,
      rate: {
        last_minute: this.overall.total(second, 60),
        per_second: this.overall.read(second, hour, 10).map((n) => n / 10),
        step_seconds: 10,
        inputs: [...this.inputs].map(([name, series]) => ({ name, last_minute: series.total(second, 60), series: series.read(second, hour, 60) })),
      },
      sensors,
      top,
      sampled_events: sampled,
      map: [...points.values()].sort((a, b) => b[2] - a[2]).slice(0, 500),
      risk,
      intel: { events: intelEvents, latest: this.intelMatches.slice(-20).reverse().map(withoutJson) },
    };
  }

  /** The newest events first, those whose JSON contains `filter` (case-insensitive) when given. */
  latestEvents(filter: string | undefined, limit: number): (LatestEvent & { id: number })[] {
    const out: (LatestEvent & { id: number })[] = [];
    const needle = filter?.toLowerCase();
    const size = this.latest.length;
    for (let k = 1; k <= size && out.length < limit; k++) {
      const index = this.latestNext - k;
      if (index < 0) break;
      const event = this.latest[index % size];
      if (event === undefined) break;
      if (needle !== undefined && needle !== '' && !event.json.toLowerCase().includes(needle) && !event.sensor.toLowerCase().includes(needle)) continue;
      out.push({ ...event, id: index });
    }
    return out;
  }

  private sensor(id: string, now: number): SensorState {
    let sensor = this.sensors.get(id);
    if (sensor === undefined) {
      if (this.sensors.size >= this.limits.maxSeries && id !== other) return this.sensor(other, now);
      sensor = { id, firstSeen: now, lastSeen: now, events: 0, inputs: new Set(), accepted: 0, refused: 0, lastRefusedAt: undefined, series: new SecondSeries() };
      this.sensors.set(id, sensor);
    }
    return sensor;
  }

  private inputSeries(name: string): SecondSeries {
    let series = this.inputs.get(name);
    if (series === undefined) {
      if (this.inputs.size >= this.limits.maxSeries && name !== other) return this.inputSeries(other);
      series = new SecondSeries();
      this.inputs.set(name, series);
    }
    return series;
  }

  private bucket(now: number): MinuteBucket {
    const minute = Math.floor(now / 60_000);
    const i = minute % minutes;
    let bucket = this.buckets[i];
    if (bucket === undefined || bucket.minute !== minute) {
      bucket = { minute, top: new Map(), points: new Map(), risk: new Array<number>(10).fill(0), events: 0, intelEvents: 0 };
      this.buckets[i] = bucket;
    }
    return bucket;
  }

  private bucketsWithin(now: number, windowSeconds: number): MinuteBucket[] {
    const newest = Math.floor(now / 60_000);
    const oldest = newest - Math.ceil(windowSeconds / 60) + 1;
    return this.buckets.filter((b): b is MinuteBucket => b !== undefined && b.minute >= oldest && b.minute <= newest);
  }

  /** Parses up to maxParsedPerBatch evenly spread events of the batch; each stands for `weight` events. */
  private sample(batch: Batch, now: number): void {
    const bytes = batch.ndjson;
    const stride = Math.max(1, Math.ceil(batch.count / this.limits.maxParsedPerBatch));
    const bucket = this.bucket(now);
    let start = 0;
    let line = 0;
    while (start < bytes.length) {
      let end = bytes.indexOf(10, start);
      if (end < 0) end = bytes.length;
      if (line % stride === 0 && end > start) {
        const weight = Math.min(stride, batch.count - line);
        this.take(bytes.subarray(start, end), weight, bucket, batch, now);
      }
      line++;
      start = end + 1;
    }
  }

  private take(bytes: Uint8Array, weight: number, bucket: MinuteBucket, batch: Batch, now: number): void {
    const text = this.decoder.decode(bytes);
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof event !== 'object' || event === null) return;
    const e = event as Record<string, unknown>;
    bucket.events += weight;
    const source = obj(e.source);
    const geo = obj(source?.geo);
    const as = obj(source?.as);
    const destination = obj(e.destination);
    const tls = obj(obj(e.tls)?.client);
    const ssh = obj(obj(e.ssh)?.client);
    const userAgent = obj(e.user_agent);
    const url = obj(e.url);
    const ev = obj(e.event);
    const enrichments = obj(e.threat)?.enrichments;
    const country = str(geo?.country_iso_code) ?? str(geo?.country_name);
    const asn = num(as?.number);
    const asOrg = str(obj(as?.organization)?.name);
    const port = num(destination?.port);
    this.count(bucket, 'country', country, weight);
    this.count(bucket, 'asn', asn === undefined ? undefined : asOrg === undefined ? `AS${asn}` : `AS${asn} ${asOrg}`, weight);
    this.count(bucket, 'port', port === undefined ? undefined : `${port}${str(obj(e.network)?.transport) === undefined ? '' : `/${str(obj(e.network)?.transport)}`}`, weight);
    this.count(bucket, 'ja4', str(obj(tls?.hash)?.ja4) ?? str(tls?.ja4), weight);
    this.count(bucket, 'hassh', str(obj(ssh?.hash)?.hassh) ?? str(ssh?.hassh), weight);
    this.count(bucket, 'user_agent', str(userAgent?.original), weight);
    this.count(bucket, 'http_path', str(url?.path), weight);
    let intel = 0;
    if (Array.isArray(enrichments)) {
      for (const match of enrichments.slice(0, 8)) {
        const indicator = obj(obj(match)?.indicator);
        const name = str(obj(obj(match)?.feed)?.name) ?? str(indicator?.provider);
        const what = str(indicator?.name) ?? str(indicator?.ip);
        this.count(bucket, 'intel', `${name ?? 'intel'}: ${what ?? '?'}`, weight);
        intel++;
      }
      if (intel > 0) bucket.intelEvents += weight;
    }
    const location = obj(geo?.location);
    const lat = num(location?.lat);
    const lon = num(location?.lon);
    if (lat !== undefined && lon !== undefined) {
      const key = `${Math.round(lat)},${Math.round(lon)}`;
      const point = bucket.points.get(key);
      if (point !== undefined) point[2] += weight;
      else if (bucket.points.size < this.limits.maxKeysPerMinute) bucket.points.set(key, [Math.round(lat), Math.round(lon), weight]);
    }
    const risk = num(ev?.risk_score);
    if (risk !== undefined) {
      const bin = Math.min(9, Math.max(0, Math.floor(risk / 10)));
      bucket.risk[bin] = (bucket.risk[bin] as number) + weight;
    }
    const summary: EventSummary = {
      timestamp: str(e['@timestamp']),
      source_ip: str(source?.ip),
      source_port: num(source?.port),
      destination_port: port,
      transport: str(obj(e.network)?.transport),
      country,
      asn,
      as_org: asOrg,
      dataset: str(ev?.dataset) ?? str(ev?.module),
      action: str(ev?.action),
      risk,
      intel: intel > 0 ? intel : undefined,
    };
    const json = text.length > this.limits.maxEventBytes ? text.slice(0, this.limits.maxEventBytes) : text;
    const latest: LatestEvent = { at: now, sensor: batch.sensorId, input: batch.source, summary, json };
    const id = this.latestNext;
    this.latest[id % this.latest.length] = latest;
    this.latestNext++;
    if (intel > 0) {
      this.intelMatches.push(latest);
      if (this.intelMatches.length > 50) this.intelMatches.shift();
    }
    for (const listener of this.listeners) listener({ ...latest, id });
  }

  private count(bucket: MinuteBucket, dimension: Dimension, value: string | undefined, weight: number): void {
    if (value === undefined || value === '') return;
    let counts = bucket.top.get(dimension);
    if (counts === undefined) {
      counts = new Map();
      bucket.top.set(dimension, counts);
    }
    const key = value.length > 200 ? value.slice(0, 200) : value;
    const current = counts.get(key);
    if (current !== undefined) counts.set(key, current + weight);
    else if (counts.size < this.limits.maxKeysPerMinute) counts.set(key, weight);
    else counts.set(other, (counts.get(other) ?? 0) + weight);
  }
}

export type DashboardSnapshot = {
  now: number;
  started_at: number;
  window_seconds: number;
  silent_after_seconds: number;
  total_events: number;
  rate: { last_minute: number; per_second: number[]; step_seconds: number; inputs: { name: string; last_minute: number; series: number[] }[] };
  sensors: {
    id: string; first_seen: number | undefined; last_seen: number | undefined; events: number; inputs: string[]; rate_per_minute: number;
    events_in_window: number; batches_accepted: number; batches_refused: number; last_refused_at: number | undefined; silent: boolean; series: number[];
  }[];
  top: Record<Dimension, { value: string; count: number }[]>;
  sampled_events: number;
  map: [number, number, number][];
  risk: number[];
  intel: { events: number; latest: Omit<LatestEvent, 'json'>[] };
};

function withoutJson(event: LatestEvent): Omit<LatestEvent, 'json'> {
  return { at: event.at, sensor: event.sensor, input: event.input, summary: event.summary };
}

function rank(maps: (Map<string, number> | undefined)[], n: number): { value: string; count: number }[] {
  const sum = new Map<string, number>();
  for (const map of maps) {
    if (map === undefined) continue;
    for (const [key, count] of map) sum.set(key, (sum.get(key) ?? 0) + count);
  }
  return [...sum].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n).map(([value, count]) => ({ value, count }));
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
