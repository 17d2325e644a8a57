/**
 * Runs statements in chDB in a process of its own, under a ClickHouse configuration file of the test's
 * choosing: chDB binds one data directory and one configuration per process, so a test that needs the
 * same data seen first by an unrestricted user and then by a restricted one opens it twice, each time
 * here. Protocol (IPC): receives `{ dataDir, configFile?, statements: [{ sql, database? }] }`, answers
 * `{ results: [{ ok: true, text } | { ok: false, code, message }] }` and exits.
 */
import { Session } from 'chdb';

export interface ChildStatement {
  sql: string;
  /** The current database for this statement. */
  database?: string;
}

export interface ChildRequest {
  dataDir: string;
  configFile?: string;
  statements: ChildStatement[];
}

export type ChildResult = { ok: true; text: string } | { ok: false; code: number; message: string };

function run(request: ChildRequest): ChildResult[] {
  const session = new Session(
    request.dataDir,
    request.configFile === undefined ? {} : { connectionArgs: [`--config-file=${request.configFile}`] },
  );
  try {
    return request.statements.map(({ sql, database }) => {
      try {
        if (database !== undefined) session.query(`USE \`${database}\``, 'TSV');
        return { ok: true, text: session.query(sql, 'TSV').toString().trim() };
      } catch (error) {
        const message = (error as Error).message;
        return { ok: false, code: Number(/Code: (\d+)\./.exec(message)?.[1] ?? 0), message };
      }
    });
  } finally {
    session.close();
  }
}

process.once('message', (request: ChildRequest) => {
  let answer: { results: ChildResult[] } | { error: string };
  try {
    answer = { results: run(request) };
  } catch (error) {
    answer = { error: (error as Error).message };
  }
  process.send?.(answer, () => process.exit(0));
});
