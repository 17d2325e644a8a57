import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorDefinitionSchema } from '../../lambdas/core/connector-schema.ts';
import { objectDefinitionInputSchema, parseObjectDefinition } from '../../lambdas/core/object-schema.ts';
import {
  CONNECTOR_DESCRIPTIONS,
  OBJECT_DESCRIPTIONS,
  connectorJsonSchema,
  objectJsonSchema,
} from '../../lambdas/local/json-schemas.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

/** Every property path of a generated schema, in the notation of the description tables. */
function propertyPaths(node: unknown, path = ''): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const schema = node as Record<string, unknown>;
  const paths: string[] = [];
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, unknown>)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    paths.push(childPath, ...propertyPaths(child, childPath));
  }
  paths.push(...propertyPaths(schema.items, `${path}[]`));
  paths.push(...propertyPaths(schema.additionalProperties, `${path}[]`));
  for (const branch of (schema.anyOf ?? []) as unknown[]) paths.push(...propertyPaths(branch, path));
  return [...new Set(paths)];
}

/** The description of the property at `path` (table notation), as an editor would show it. */
function descriptionAt(node: unknown, path: string): unknown {
  const schema = node as Record<string, unknown>;
  return path.split('.').reduce<Record<string, unknown> | undefined>((at, key) => {
    const items = key.endsWith('[]');
    const name = items ? key.slice(0, -2) : key;
    const property = (at?.properties as Record<string, Record<string, unknown>> | undefined)?.[name];
    if (!items) return property;
    return (property?.items ?? property?.additionalProperties) as Record<string, unknown> | undefined;
  }, schema)?.description;
}

const examples = readdirSync(join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
  .map((path) => path.split('\\').join('/'))
  .filter((path) => !path.includes('.sc/'));
const exampleConnectors = examples.filter((path) => path.endsWith('/connector.json'));
const exampleObjects = examples.filter((path) => /(^|\/)objects\/[^/]+\.json$/.test(path));

describe.each([
  { file: 'docs/connector.schema.json', generate: connectorJsonSchema, descriptions: CONNECTOR_DESCRIPTIONS },
  { file: 'docs/object.schema.json', generate: objectJsonSchema, descriptions: OBJECT_DESCRIPTIONS },
])('$file', ({ file, generate, descriptions }) => {
  it('equals a fresh generation from the zod schemas (run `npm run docs` after changing them)', () => {
    expect(readJson(file), `${file} is out of date: run npm run docs`).toEqual(generate());
  });

  it('has an $id, a title and a description, and describes every property', () => {
    const schema = generate();
    expect(schema).toMatchObject({ $id: expect.any(String), title: expect.any(String) });
    expect(schema.description).toEqual(expect.any(String));
    const paths = propertyPaths(schema);
    expect(paths.filter((path) => descriptions[path] === undefined)).toEqual([]);
    expect(Object.keys(descriptions).filter((path) => !paths.includes(path))).toEqual([]);
  });
});

describe('the generated connector JSON Schema', () => {
  it('states the defaults zod applies, empty lists included', () => {
    const schema = connectorJsonSchema() as { properties: Record<string, Record<string, unknown>> };
    expect(schema.properties.loadSteps?.default).toEqual([]);
    expect(schema.properties.variables?.default).toEqual([]);
    expect(schema.properties.type?.default).toBe('spreadsheet');
    expect(descriptionAt(schema, 'loadSteps[].matching[].onNoMatch')).toMatch(/create_new/);
  });
});

describe('the examples', () => {
  it('are found', () => {
    expect(exampleConnectors.length).toBeGreaterThan(0);
    expect(exampleObjects.length).toBeGreaterThan(0);
  });

  it.each(exampleConnectors)('%s is a valid connector definition', (path) => {
    const parsed = connectorDefinitionSchema.safeParse(readJson(join('examples', path)));
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it.each(exampleObjects)('%s is a valid object definition', (path) => {
    const raw = readJson(join('examples', path));
    expect(objectDefinitionInputSchema.safeParse(raw).error?.issues ?? []).toEqual([]);
    expect(() => parseObjectDefinition(raw, path)).not.toThrow();
  });
});

// docs/decisions.md: editors are pointed at the schemas through their settings, not a `$schema` key.
describe('a "$schema" key', () => {
  it('is refused in connector.json, whose schema is strict', () => {
    const parsed = connectorDefinitionSchema.safeParse({
      $schema: '../docs/connector.schema.json',
      name: 'A',
    });
    expect(parsed.error?.issues.map((issue) => issue.message)).toEqual(['Unrecognized key: "$schema"']);
  });

  it('is ignored in object files', () => {
    const raw = { $schema: '../docs/object.schema.json', name: 'Vendors', fields: [] };
    expect(parseObjectDefinition(raw).apiName).toBe('vendors');
  });
});
