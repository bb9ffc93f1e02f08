export { openGeoData, type GeoDataOptions } from './open.js';
export { GeoAsnLookup, ageDays } from './lookup.js';
export {
  GeoDataError,
  type AddressFamily,
  type DatabaseKind,
  type EcsAs,
  type EcsGeo,
  type GeoAsnResult,
  type GeoDatabaseInfo,
  type GeoDataHandles,
  type MmdbHandle,
  type RangeHandle,
  type RangeTableHandle,
  type RecordShape,
  type SourceHandle,
} from './types.js';
