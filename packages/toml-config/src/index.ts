export { TomlValues, describeValue, isTable, type TomlTable } from './values.js';
export { unknownKeyWarnings, type Kind, type TableSpec, type UnknownKeyOptions } from './unknown-keys.js';
export { closest, editDistance } from './suggest.js';
