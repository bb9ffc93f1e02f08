export type { EcsEvent, JsonValue } from './event.js';
export { getPath, isPlainObject, pathReader } from './event.js';
export type { CommunityIdFlow, CommunityIdOptions } from './community-id.js';
export { communityId } from './community-id.js';
