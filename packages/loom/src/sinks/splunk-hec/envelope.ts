import { getPath, isPlainObject, type EcsEvent } from '@loom/ecs';

export interface EnvelopeSettings {
  index: string | undefined;
  sourcetype: string;
  source: string | undefined;
  host: string | undefined;
  eventIdField: string;
}

export type Envelope = { ok: true; json: string } | { ok: false; reason: string };

/** Where the default `host` comes from, most specific first: the sensor that saw the event. */
const HOST_PATHS = ['observer.hostname', 'observer.name', 'host.name', 'host.hostname'];

/**
 * Wraps events in the HEC event envelope
 * `{"time":…,"host":…,"source":…,"sourcetype":…,"index":…,"fields":{…},"event":{…}}`.
 * The event is embedded as the original text, so Splunk receives exactly the object Loom
 * wrote; it is parsed only to read the timestamp and host.
 */
export class EnvelopeBuilder {
  /** The metadata that is the same for every event, as `"key":value,` text. */
  private readonly fixed: string;

  constructor(private readonly settings: EnvelopeSettings) {
    let fixed = '';
    if (settings.source !== undefined) fixed += `"source":${JSON.stringify(settings.source)},`;
    fixed += `"sourcetype":${JSON.stringify(settings.sourcetype)},`;
    if (settings.index !== undefined) fixed += `"index":${JSON.stringify(settings.index)},`;
    this.fixed = fixed;
  }

  build(raw: string, eventId: string | undefined): Envelope {
    let event: unknown;
    try {
      event = JSON.parse(raw);
    } catch (error) {
      return { ok: false, reason: `not valid JSON: ${(error as Error).message}` };
    }
    if (!isPlainObject(event)) return { ok: false, reason: 'not a JSON object' };
    let json = '{';
    const time = hecTime(event['@timestamp']);
    if (time !== undefined) json += `"time":${time},`;
    const host = this.settings.host ?? eventHost(event);
    if (host !== undefined) json += `"host":${JSON.stringify(host)},`;
    json += this.fixed;
    if (this.settings.eventIdField !== '' && eventId !== undefined && eventId !== '') {
      json += `"fields":{${JSON.stringify(this.settings.eventIdField)}:${JSON.stringify(eventId)}},`;
    }
    json += `"event":${raw.trim()}}`;
    return { ok: true, json };
  }
}

/**
 * HEC's `time`: epoch seconds with the milliseconds as decimals (`1714566896.789`).
 * Undefined when the value is not a parseable date, so that HEC uses the receive time.
 */
export function hecTime(timestamp: unknown): string | undefined {
  if (typeof timestamp !== 'string' || timestamp === '') return undefined;
  const ms = Date.parse(timestamp);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return (ms / 1000).toFixed(3);
}

export function eventHost(event: EcsEvent): string | undefined {
  for (const path of HOST_PATHS) {
    const value = getPath(event, path);
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

/**
 * Groups consecutive items into requests of at most maxBytes (counting one separating
 * newline per item). An item larger than maxBytes travels alone: it cannot be split, and
 * whether the collector takes it is for the collector to say.
 */
export function groupBySize(sizes: readonly number[], maxBytes: number): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    const cost = size + 1;
    if (current.length > 0 && bytes + cost > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += cost;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}
