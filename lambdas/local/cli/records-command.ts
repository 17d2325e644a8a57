import { UsageError } from '../../core/errors.ts';
import type { StoredRecord } from '../../core/model.ts';
import { recordView } from '../../pipeline/api/object-routes.ts';
import { openWorkspace } from './session.ts';

/** `sc records <object>`: every record of the object, oldest first. */
export async function recordsCommand(
  objectName: string,
  options: { workspace?: string; json: boolean },
): Promise<number> {
  const session = await openWorkspace(process.cwd(), options.workspace);
  try {
    const object = session.objects.get(objectName);
    if (!object) {
      const known = [...session.objects.keys()].join(', ') || '(none)';
      throw new UsageError('OBJECT_NOT_FOUND', `No object "${objectName}". Known objects: ${known}.`);
    }
    const records: StoredRecord[] = [];
    for await (const record of session.runtime.ports.records.scan(object.apiName)) records.push(record);
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    if (options.json) {
      process.stdout.write(JSON.stringify(records.map(recordView), null, 2) + '\n');
      return 0;
    }
    const columns = ['id', 'archived', ...object.fields.map((f) => f.apiName)];
    const rows = records.map((r) => [
      r.id,
      String(r.archived),
      ...object.fields.map((f) => {
        const v = r.fields[f.apiName];
        return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
      }),
    ]);
    const widths = columns.map((c, i) => Math.min(40, Math.max(c.length, ...rows.map((r) => r[i]!.length))));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.slice(0, widths[i]).padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    process.stdout.write(
      [line(columns), ...rows.map(line), `${records.length} ${object.name} record(s)`].join('\n') + '\n',
    );
    return 0;
  } finally {
    await session.close();
  }
}
