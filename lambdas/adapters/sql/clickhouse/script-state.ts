import { identifierName, isSignificant, stringValue, type Token } from '../sql-lexer.ts';
import { SCRIPT_DATABASES, type ScriptDatabase, type Settings } from '../sql-job.ts';
import type { Statement } from '../sql-statements.ts';

/**
 * What chDB's session remembers from one statement to the next and a stateless HTTP request does not:
 * the settings a script changed with `SET` and the database it chose with `USE`. The engine sends each
 * statement with these, so `SET join_use_nulls = 1` or `USE output` keep their meaning for the rest of
 * the script without any server session (which ClickHouse Cloud's load balancer would not keep on one
 * replica anyway).
 */
export class ScriptState {
  /** Settings changed by the script's `SET` statements so far. */
  readonly settings: Settings = {};
  /** The current database, as the script names it (a script database) or as it is (any other). */
  database: string;

  constructor(database: ScriptDatabase = 'connector') {
    this.database = database;
  }

  /** Takes note of a statement that ran. */
  after(statement: Statement): void {
    const [first, second, ...rest] = statement.tokens.filter(isSignificant);
    if (first?.kind !== 'word' || second === undefined) return;
    const verb = first.text.toUpperCase();
    if (verb === 'USE' && rest.length === 0) {
      const name = identifierName(second);
      if (name !== undefined) this.database = name;
    }
    if (verb === 'SET') {
      const assignments = parseAssignments(statement.tokens.slice(statement.tokens.indexOf(first) + 1));
      for (const [name, value] of Object.entries(assignments ?? {})) {
        if (value === null) delete this.settings[name];
        else this.settings[name] = value;
      }
    }
  }

  /** Whether the current database is one of the script's own (so it is rewritten to the real one). */
  get inScriptDatabase(): ScriptDatabase | undefined {
    return (SCRIPT_DATABASES as readonly string[]).includes(this.database)
      ? (this.database as ScriptDatabase)
      : undefined;
  }
}

/**
 * `a = 1, b = 'x', c = DEFAULT` as settings (`null` for DEFAULT); undefined when the tokens are not
 * such a list (`SET ROLE …`), which the server then judges on its own.
 */
function parseAssignments(tokens: Token[]): Record<string, string | null> | undefined {
  const assignments: Record<string, string | null> = {};
  let i = 0;
  const skipSpace = (): void => {
    while (i < tokens.length && !isSignificant(tokens[i]!)) i++;
  };
  while (i < tokens.length) {
    skipSpace();
    const name = tokens[i++];
    skipSpace();
    if (name?.kind !== 'word' || tokens[i++]?.text !== '=') return undefined;
    const value: Token[] = [];
    let depth = 0;
    for (; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.kind === 'symbol' && token.text === ',' && depth === 0) break;
      if (token.kind === 'symbol' && '([{'.includes(token.text)) depth++;
      if (token.kind === 'symbol' && ')]}'.includes(token.text)) depth--;
      value.push(token);
    }
    i++;
    const meaningful = value.filter(isSignificant);
    if (meaningful.length === 0) return undefined;
    const only = meaningful.length === 1 ? meaningful[0]! : undefined;
    assignments[name.text] =
      only?.kind === 'string'
        ? stringValue(only)
        : only?.kind === 'word' && only.text.toUpperCase() === 'DEFAULT'
          ? null
          : value
              .map((token) => (token.kind === 'comment' ? ' ' : token.text))
              .join('')
              .trim();
  }
  return assignments;
}
