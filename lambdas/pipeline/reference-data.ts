import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { DefinitionError } from '../core/errors.ts';
import { findField } from '../core/object-schema.ts';
import type { FieldValue } from '../core/model.ts';
import type { PreparedTable } from '../ports/sql-engine.ts';
import { tsvField } from './input/tsv.ts';
import type { Ports } from './ports.ts';

/**
 * Writes `records.<object>` tables for the connector's `referenceData`: `id` plus the listed fields of
 * every non-archived record, as strings (lists as JSON arrays).
 */
export async function prepareReferenceData(
  ports: Ports,
  entries: ReadonlyArray<{ object: string; fields: string[] }>,
  workDir: string,
): Promise<PreparedTable[]> {
  const tables: PreparedTable[] = [];
  for (const [i, entry] of entries.entries()) {
    const object = await ports.connectors.getObject(entry.object);
    if (!object) {
      throw new DefinitionError('connector', [
        { path: `referenceData[${i}].object`, message: `unknown object "${entry.object}"` },
      ]);
    }
    const fields = entry.fields.map((ref, j) => {
      const field = findField(object, ref);
      if (!field) {
        throw new DefinitionError('connector', [
          {
            path: `referenceData[${i}].fields[${j}]`,
            message: `unknown field "${ref}" on object ${object.apiName}`,
          },
        ]);
      }
      return field.apiName;
    });
    const path = join(workDir, `records-${i}.tsv`);
    const out = createWriteStream(path);
    let rows = 0;
    for await (const record of ports.records.scan(object.apiName)) {
      if (record.archived) continue;
      const line = [record.id, ...fields.map((f) => referenceCell(record.fields[f]))]
        .map(tsvField)
        .join('\t');
      if (!out.write(line + '\n')) await once(out, 'drain');
      rows++;
    }
    out.end();
    await once(out, 'finish');
    tables.push({ name: object.apiName, columns: ['id', ...fields], path, rows });
  }
  return tables;
}

function referenceCell(value: FieldValue | undefined): string | null {
  if (value === undefined) return null;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
