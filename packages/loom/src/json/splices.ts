import { randomBytes } from 'node:crypto';

/**
 * Cached JSON text copied into serialised events where a placeholder key stands.
 *
 * Enrichment adds the same `geo` and `as`, about 270 bytes of JSON, to every event from one
 * address. Serialising those objects again for every event and then encoding the text as
 * UTF-8 was most of what GeoIP cost per event, so the enricher renders them once per address
 * and leaves a placeholder `"<key>":<n>` in the event instead. Node 20 has no JSON.rawJSON:
 * JsonSplices.render serialises the event with JSON.stringify and finds the placeholders, and
 * writeRendered copies the cached bytes in their place, so the output is byte for byte what
 * serialising the objects would give, keys in the same order.
 *
 * A sender can write any key, this one included. An object that already has the key gets no
 * placeholder. The placeholders found in each text are checked against the ones inserted into
 * that event: a text with any other occurrence of the key is never spliced; the objects are
 * put back into the event and it is serialised the ordinary way. Since a sender can only add
 * occurrences, that check keeps the output right. The key is random per thread as well, so
 * that such a fallback is left to chance rather than to the sender.
 */

/**
 * 64 random bits, behind a character JSON text seldom holds so that searching for the key
 * skips through most of a text. Short, because every placeholder is serialised and searched.
 */
const KEY_TEXT = `~${randomBytes(8).toString('hex')}`;
// A key read back from an object is the engine's interned copy, which later property stores with it find at once.
const KEY = Object.keys({ [KEY_TEXT]: 0 })[0] as string;
/** A placeholder in JSON text, from its key to the colon; the opening quote is checked separately. */
const SEARCH = `${KEY}":`;

export class JsonSplices {
  private readonly fragments: Uint8Array[] = [];
  private readonly targets: Record<string, unknown>[] = [];
  /** Per event of the batch, the placeholders inserted into it. */
  private readonly byEvent: (number[] | undefined)[] = [];

  /**
   * Adds a placeholder key to `target`, an object within event number `event` of the batch,
   * that writeRendered replaces with `fragment`: the UTF-8 JSON of one or more `"key":value`
   * pairs, which then stand where the placeholder stands among the object's keys. Returns
   * false, and adds nothing, when `target` already has the placeholder's key (a sender wrote
   * it): the caller then adds its objects the ordinary way.
   */
  insert(target: Record<string, unknown>, event: number, fragment: Uint8Array): boolean {
    if (Object.hasOwn(target, KEY)) return false;
    const n = this.fragments.push(fragment) - 1;
    this.targets.push(target);
    target[KEY] = n;
    const list = this.byEvent[event];
    if (list === undefined) this.byEvent[event] = [n];
    else list.push(n);
    return true;
  }

  /** Placeholders inserted so far, in all events. */
  get size(): number {
    return this.fragments.length;
  }

  /**
   * Event number `event` serialised, with where its placeholders are and what replaces them.
   * Throws what JSON.stringify throws.
   */
  render(value: object, event: number): RenderedJson {
    const text = JSON.stringify(value);
    const inserted = this.byEvent[event];
    if (inserted === undefined) return plain(text);
    const count = inserted.length;
    const cuts = new Array<number>(2 * count);
    const fragments = new Array<Uint8Array>(count);
    /** Which of `inserted` were found, so that none is taken twice. */
    const found = new Array<boolean>(count).fill(false);
    const textBytes = Buffer.byteLength(text);
    let byteLength = textBytes;
    let from = 0;
    for (let k = 0; k < count; k++) {
      const at = text.indexOf(SEARCH, from);
      if (at < 1 || text.charCodeAt(at - 1) !== 0x22) return this.restored(value, inserted);
      let end = at + SEARCH.length;
      let n = 0;
      for (let c = text.charCodeAt(end); c >= 0x30 && c <= 0x39 && end - at - SEARCH.length < 10; c = text.charCodeAt(++end)) n = n * 10 + (c - 0x30);
      const which = end === at + SEARCH.length ? -1 : inserted.indexOf(n);
      if (which < 0 || found[which] === true) return this.restored(value, inserted);
      found[which] = true;
      const fragment = this.fragments[n] as Uint8Array;
      cuts[2 * k] = at - 1;
      cuts[2 * k + 1] = end;
      fragments[k] = fragment;
      byteLength += fragment.length - (end - at + 1);
      from = end;
    }
    // One more placeholder than inserted means the sender wrote the key.
    if (text.indexOf(SEARCH, from) >= 0) return this.restored(value, inserted);
    return { text, byteLength, ascii: textBytes === text.length, cuts, fragments };
  }

  /** The event with its placeholders replaced by the objects their text stands for, serialised the ordinary way. */
  private restored(value: object, inserted: number[]): RenderedJson {
    for (const n of inserted) restore(this.targets[n] as Record<string, unknown>, this.fragments[n] as Uint8Array);
    return plain(JSON.stringify(value));
  }
}

function plain(text: string): RenderedJson {
  return { text, byteLength: Buffer.byteLength(text), ascii: false, cuts: undefined, fragments: undefined };
}

/** Puts the pairs of `fragment` where the placeholder is in `target`, keeping the order of its keys. */
function restore(target: Record<string, unknown>, fragment: Uint8Array): void {
  if (!Object.hasOwn(target, KEY)) return;
  const entries = Object.entries(target);
  for (const [key] of entries) delete target[key];
  const define = (key: string, value: unknown): void => {
    // defineProperty, because assigning a key named "__proto__" would set the prototype instead.
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  };
  for (const [key, value] of entries) {
    if (key !== KEY) define(key, value);
    else for (const [k, v] of Object.entries(JSON.parse(`{${Buffer.from(fragment).toString('utf8')}}`) as Record<string, unknown>)) define(k, v);
  }
}

/** The UTF-8 JSON of an object's pairs without the braces, for JsonSplices.insert; undefined when it has none. */
export function jsonPairs(object: object): Uint8Array | undefined {
  const text = JSON.stringify(object);
  return text.length > 2 ? Buffer.from(text.slice(1, -1)) : undefined;
}

/** One value's JSON, ready to be written by writeRendered. */
export interface RenderedJson {
  /** JSON.stringify's text, placeholders included. */
  text: string;
  /** Bytes writeRendered writes: the text as UTF-8 with every placeholder replaced. */
  byteLength: number;
  /** Whether the text is ASCII, so that its UTF-8 bytes are its characters (set only with placeholders). */
  ascii: boolean;
  /** Start and end in `text` of each placeholder, in order; undefined when there are none. */
  cuts: number[] | undefined;
  /** The bytes that replace each placeholder. */
  fragments: Uint8Array[] | undefined;
}

/** Writes rendered JSON at `offset`, which must have room for its byteLength; returns the offset after it. */
export function writeRendered(rendered: RenderedJson, target: Buffer, offset: number): number {
  const { text, cuts, fragments } = rendered;
  if (cuts === undefined || fragments === undefined) return offset + target.write(text, offset, rendered.byteLength, 'utf8');
  if (rendered.ascii && fragmentsFit(cuts, fragments)) return writeInPlace(text, cuts, fragments, target, offset);
  let from = 0;
  let at = offset;
  for (let k = 0; k < fragments.length; k++) {
    at += target.write(text.slice(from, cuts[2 * k] as number), at, 'utf8');
    const fragment = fragments[k] as Uint8Array;
    target.set(fragment, at);
    at += fragment.length;
    from = cuts[2 * k + 1] as number;
  }
  return at + target.write(text.slice(from), at, 'utf8');
}

/** Whether every fragment is at least as long as its placeholder, so that the text only ever moves right. */
function fragmentsFit(cuts: number[], fragments: Uint8Array[]): boolean {
  for (let k = 0; k < fragments.length; k++) if ((fragments[k] as Uint8Array).length < (cuts[2 * k + 1] as number) - (cuts[2 * k] as number)) return false;
  return true;
}

/**
 * An ASCII text's bytes are its characters: one copy of the whole text (a plain memory copy),
 * then, from the last placeholder back to the first, the part after each one moves right to
 * make room for its fragment. Each move goes into room no part still to be moved occupies.
 */
function writeInPlace(text: string, cuts: number[], fragments: Uint8Array[], target: Buffer, offset: number): number {
  target.write(text, offset, text.length, 'latin1');
  let shift = 0;
  for (let k = 0; k < fragments.length; k++) shift += (fragments[k] as Uint8Array).length - ((cuts[2 * k + 1] as number) - (cuts[2 * k] as number));
  let end = text.length;
  for (let k = fragments.length - 1; k >= 0; k--) {
    const fragment = fragments[k] as Uint8Array;
    const start = cuts[2 * k] as number;
    const stop = cuts[2 * k + 1] as number;
    if (shift !== 0) target.copyWithin(offset + stop + shift, offset + stop, offset + end);
    shift -= fragment.length - (stop - start);
    target.set(fragment, offset + start + shift);
    end = start;
  }
  return offset + text.length + fragments.reduce((sum, fragment, k) => sum + fragment.length - ((cuts[2 * k + 1] as number) - (cuts[2 * k] as number)), 0);
}
