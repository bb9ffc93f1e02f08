export type { EcsEvent, JsonValue } from './event.js';
export { getPath, isPlainObject } from './event.js';
export type { CommunityIdFlow, CommunityIdOptions } from './community-id.js';
export { communityId } from './community-id.js';
