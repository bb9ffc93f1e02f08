import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { messageFormats } from './formats.js';

/** Fields the server sets on every message; a client must not send them. */
export const SERVER_FIELDS = ['timestamp', 'source_ip'] as const;

export interface MessageSchema {
  validate: ValidateFunction;
  /** Top-level property names the schema defines: what column_order may name besides the server fields. */
  properties: ReadonlySet<string>;
}

const options: Options = {
  // The first failure is what the client is told; looking for more costs time on every bad message.
  allErrors: false,
  // Unknown keywords are almost always typos ("requried") that would silently check nothing.
  strictSchema: true,
  strictNumbers: true,
  // These only flag style (a "format" without a "type"), not mistakes that weaken a check.
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  allowMatchingProperties: true,
  formats: messageFormats,
};

/**
 * Compiles the operator's message schema once, with the JSON Schema draft its "$schema"
 * names: draft-07 (also the default without "$schema"), 2019-09 or 2020-12. Throws an
 * Error whose message says what is wrong; the caller prefixes the config key.
 */
export function compileMessageSchema(schema: unknown): MessageSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw new Error('the schema must be a JSON object');
  const declared = (schema as { $schema?: unknown }).$schema;
  const draft = typeof declared === 'string' ? declared : '';
  let ajv: Ajv | Ajv2019 | Ajv2020;
  if (draft.includes('2020-12')) ajv = new Ajv2020(options);
  else if (draft.includes('2019-09')) ajv = new Ajv2019(options);
  else if (draft === '' || draft.includes('draft-07')) ajv = new Ajv(options);
  else throw new Error(`"$schema" ${JSON.stringify(draft)} is not supported; use draft-07, 2019-09 or 2020-12`);
  // The draft is chosen above; without "$schema" its http/https and "#" spellings all work.
  const { $schema: _declared, ...body } = schema as Record<string, unknown>;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(body);
  } catch (error) {
    throw new Error(`not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const properties = new Set<string>();
  collectProperties(schema, schema, properties, new Set());
  for (const field of SERVER_FIELDS) {
    if (properties.has(field)) throw new Error(`property "${field}" is set by the server; give the client's field another name`);
  }
  return { validate, properties };
}

/**
 * Property names of the message object: those of the root schema, of the branches of
 * allOf / anyOf / oneOf / if-then-else, and of local "$ref"s from any of them.
 */
function collectProperties(node: unknown, root: unknown, out: Set<string>, seen: Set<unknown>): void {
  if (node === null || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  const schema = node as Record<string, unknown>;
  const properties = schema.properties;
  if (properties !== null && typeof properties === 'object') for (const name of Object.keys(properties)) out.add(name);
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const branches = schema[key];
    if (Array.isArray(branches)) for (const branch of branches) collectProperties(branch, root, out, seen);
  }
  for (const key of ['if', 'then', 'else']) collectProperties(schema[key], root, out, seen);
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#')) collectProperties(resolvePointer(root, ref.slice(1)), root, out, seen);
}

function resolvePointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    node = Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

/** What the client is told about the first schema violation, naming the field. */
export function describeValidationError(error: ErrorObject | undefined): string {
  if (error === undefined) return 'the message does not match the schema';
  const at = fieldOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
    case 'dependentRequired':
    case 'dependencies':
      return `field "${join(at, String(params.missingProperty))}" is required`;
    case 'additionalProperties':
      return `field "${join(at, String(params.additionalProperty))}" is not allowed`;
    case 'unevaluatedProperties':
      return `field "${join(at, String(params.unevaluatedProperty))}" is not allowed`;
    case 'propertyNames':
      return `field name "${join(at, String(params.propertyName))}" is not allowed`;
    case 'enum':
      return `${subject(at)} must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'const':
      return `${subject(at)} must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${subject(at)} ${error.message ?? 'is invalid'}`;
  }
}

/** A JSON Pointer ("/attributes/a~1b/0") as a dotted field name ("attributes.a/b.0"). */
function fieldOf(pointer: string): string {
  if (pointer === '') return '';
  return pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

function subject(field: string): string {
  return field === '' ? 'the message' : `field "${field}"`;
}
