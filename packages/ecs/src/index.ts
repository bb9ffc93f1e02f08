export type { EcsEvent, JsonValue } from './event.js';
export { getPath, isPlainObject } from './event.js';
