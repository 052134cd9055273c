import type { FastifySchemaValidationError } from 'fastify';
import { PictorError } from '../errors.ts';

/**
 * An annotation on a schema member: what a valid value is, as it reads after "must be" ("an absolute http(s)
 * URL"). Without it the phrase is derived from the schema's type, const or enum.
 */
export const MUST = 'x-must';

/** The validator's options for every route schema on the admin listener (see admin-server.ts). */
export const VALIDATOR_OPTIONS = {
  // A schema checks what the client sent, as sent: no coercion ("true" is not true), no silent removal of
  // unknown members, no defaults filled in.
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  // The failing value and its schema, for a message that names both.
  verbose: true,
  keywords: [MUST],
  // `type: ["string", "null"]` and the like, as OpenAPI 3.1 writes them.
  allowUnionTypes: true,
};

type Schema = Record<string, unknown>;

/** The parts of a validation error read here (the validator is verbose, so the value and schema are included). */
interface ValidationError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  parentSchema?: Schema;
  data?: unknown;
}

/**
 * Fastify's `schemaErrorFormatter`: the first failure of a request schema as the API's 400, in the same words
 * as the checks written in code, with the JSON:API pointer of the offending member (body) or the name of the
 * parameter (query string, path).
 */
export function schemaError(errors: FastifySchemaValidationError[], dataVar: string): PictorError {
  const error = errors[0] as unknown as ValidationError;
  if (dataVar === 'body') return bodyError(error);
  const name = decodePointer(error.instancePath).join('.') || String(error.params.missingProperty ?? '');
  if (Array.isArray(error.data)) return new PictorError('BAD_REQUEST', `Give the query parameter "${name}" once.`);
  const where = dataVar === 'querystring' ? 'The query parameter' : 'The path segment';
  return new PictorError('BAD_REQUEST', `${where} "${name}" must be ${expected(error.parentSchema ?? {})}, got ${show(error.data)}.`);
}

function bodyError({ keyword, instancePath, params, parentSchema = {}, data }: ValidationError): PictorError {
  let path = decodePointer(instancePath);
  let schema = parentSchema;
  if (keyword === 'required') {
    const missing = String(params.missingProperty);
    path = [...path, missing];
    schema = (parentSchema.properties as Record<string, Schema> | undefined)?.[missing] ?? {};
  }
  // The whole body is not even an object: the document's `data` is what is missing.
  const pointer = path.length === 0 ? '/data' : `/${path.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  const subject = path.length === 0 ? 'The body' : `"${memberName(path)}"`;
  const fail = (message: string) => new PictorError('BAD_REQUEST', message, { pointer });
  switch (keyword) {
    case 'required': {
      if ('const' in schema) return fail(`${subject} must be ${expected(schema)}, it is missing.`);
      const about = typeof schema.description === 'string' ? `: ${lowerFirst(schema.description).replace(/\.$/, '')}` : '';
      return fail(`${subject} is required${about}.`);
    }
    case 'additionalProperties': {
      const unknown = String(params.additionalProperty);
      const known = Object.entries((parentSchema.properties ?? {}) as Record<string, Schema>)
        .filter(([, member]) => member.readOnly !== true)
        .map(([name]) => `"${name}"`);
      const what = path.join('/') === 'data/attributes' ? 'attribute' : 'member';
      return new PictorError('BAD_REQUEST', `Unknown ${what} "${unknown.slice(0, 100)}"; expected ${list(known, 'and')}.`, {
        pointer: `${pointer}/${unknown.slice(0, 100)}`,
      });
    }
    case 'maxLength':
      return fail(`${subject} may have at most ${String(params.limit)} characters, and this one has ${(data as string).length}.`);
    case 'maxItems':
      return fail(`${subject} may hold at most ${String(params.limit)} items, and this one holds ${(data as unknown[]).length}.`);
    case 'maxProperties':
      return fail(`${subject} may hold at most ${String(params.limit)} fields, and this one holds ${Object.keys(data as object).length}.`);
    default:
      return fail(`${subject} must be ${expected(schema)}, got ${show(data)}.`);
  }
}

/** What a valid value is, after "must be". */
export function expected(schema: Schema): string {
  if (typeof schema[MUST] === 'string') return schema[MUST];
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.map((value) => JSON.stringify(value));
    return values.length <= 2 ? list(values, 'or') : `one of ${schema.enum.join(', ')}`;
  }
  const types = [schema.type].flat().filter((type): type is string => typeof type === 'string');
  return types.length === 0 ? 'valid' : list(types.map((type) => typePhrase(type, schema)), 'or');
}

function typePhrase(type: string, schema: Schema): string {
  switch (type) {
    case 'boolean':
      return 'true or false';
    case 'string':
      return typeof schema.minLength === 'number' && schema.minLength > 0 ? 'a non-empty string' : 'a string';
    case 'integer':
      return typeof schema.minimum === 'number' ? `a whole number, ${schema.minimum} or more` : 'a whole number';
    case 'array':
      return (schema.items as Schema | undefined)?.type === 'string' ? 'an array of strings' : 'an array';
    case 'object':
      return 'an object';
    case 'null':
      return 'null';
    default:
      return `a ${type}`;
  }
}

/** `/data/attributes/tags/1` → `tags.1`; members outside the attributes keep their full path (`data.type`). */
function memberName(path: string[]): string {
  const inAttributes = path[0] === 'data' && path[1] === 'attributes' && path.length > 2;
  return (inAttributes ? path.slice(2) : path).join('.').slice(0, 200);
}

function decodePointer(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function list(items: string[], conjunction: 'and' | 'or'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
