import {
  identifierName,
  isSignificant,
  stringValue,
  tokenize,
  type Token,
} from '../adapters/sql/sql-lexer.ts';
import { quoteString } from '../adapters/sql/clickhouse-sql.ts';

/**
 * The users of the ClickHouse stand-in. chDB runs every query as its one user and cannot store users
 * made with SQL, so the stand-in keeps them itself: `CREATE USER … IDENTIFIED … BY '<password>'`,
 * `GRANT … TO`, `REVOKE` and `DROP USER` from the configured (platform) user are answered here, such a
 * user can then log in with its password, and `system.users` lists them. What it does NOT do is
 * enforce grants: a made user's queries run with chDB's full rights. Grants and setting limits are
 * enforced, by ClickHouse's own access control, in `clickhouse-run-user-isolation.test.ts`.
 */
export class StandInAccess {
  /** Made users: their passwords, and when each can first log in. */
  private readonly users = new Map<string, { password: string; usableAt: number }>();

  constructor(
    private readonly platform: { username: string; password: string },
    /** Whether the platform user may manage users, as `access_management` grants on a server. */
    private readonly accessManagement: boolean,
    /**
     * How long a made user's logins are refused after `CREATE USER`, as on a service whose replica
     * has not yet received the user from ClickHouse Keeper.
     */
    private readonly newUserLoginDelayMs = 0,
  ) {}

  /** Whether `user` logs in with `password`. */
  authenticates(user: string, password: string): boolean {
    if (user === this.platform.username) return password === this.platform.password;
    const made = this.users.get(user);
    return made !== undefined && made.password === password && Date.now() >= made.usableAt;
  }

  /**
   * Answers `query` if it manages users (returns true), throwing ClickHouse's error text when it may
   * not; returns false for any other query.
   */
  handle(query: string, user: string): boolean {
    const tokens = tokenize(query).filter(isSignificant);
    const words = tokens.slice(0, 2).map((token) => token.text.toUpperCase());
    const kind =
      words[0] === 'GRANT' || words[0] === 'REVOKE'
        ? words[0]
        : (words[0] === 'CREATE' || words[0] === 'DROP' || words[0] === 'ALTER') && words[1] === 'USER'
          ? `${words[0]} USER`
          : undefined;
    if (kind === undefined) return false;
    if (user !== this.platform.username || !this.accessManagement) {
      throw new Error(
        `Code: 497. DB::Exception: ${user}: Not enough privileges. To execute this query, it's necessary to ` +
          `have the grant ${kind === 'GRANT' || kind === 'REVOKE' ? 'ACCESS MANAGEMENT' : kind} ON *.*. (ACCESS_DENIED)`,
      );
    }
    if (kind === 'CREATE USER') this.create(tokens);
    else if (kind === 'DROP USER') this.drop(tokens);
    else if (kind === 'GRANT' || kind === 'REVOKE') this.checkGrantee(tokens, kind);
    return true;
  }

  /** `query` with `system.users` listing the stand-in's users (name only). */
  rewrite(query: string): string {
    if (!/\bsystem\s*\.\s*users\b/.test(query)) return query;
    const names = [this.platform.username, ...this.users.keys()].map(quoteString).join(', ');
    const table = `(SELECT arrayJoin(CAST([${names}] AS Array(String))) AS name)`;
    const tokens = tokenize(query);
    const out: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const [dot, users] = nextSignificant(tokens, i, 2);
      if (tokens[i]!.text === 'system' && dot?.token.text === '.' && users?.token.text === 'users') {
        out.push(table);
        i = users.index;
      } else {
        out.push(tokens[i]!.text);
      }
    }
    return out.join('');
  }

  private create(tokens: Token[]): void {
    let at = 2;
    const ifNotExists = tokens[at]?.text.toUpperCase() === 'IF';
    if (ifNotExists) at += 3;
    const name = identifierName(tokens[at]);
    const by = tokens.findIndex((token) => token.text.toUpperCase() === 'BY');
    const password = by === -1 || tokens[by + 1]?.kind !== 'string' ? '' : stringValue(tokens[by + 1]!);
    if (name === undefined) {
      throw new Error('Code: 62. DB::Exception: Syntax error: expected a user name. (SYNTAX_ERROR)');
    }
    if (this.users.has(name) || name === this.platform.username) {
      if (ifNotExists) return;
      throw new Error(
        `Code: 493. DB::Exception: user \`${name}\`: cannot insert because user \`${name}\` already exists. ` +
          '(ACCESS_ENTITY_ALREADY_EXISTS)',
      );
    }
    this.users.set(name, { password, usableAt: Date.now() + this.newUserLoginDelayMs });
  }

  private drop(tokens: Token[]): void {
    let at = 2;
    const ifExists = tokens[at]?.text.toUpperCase() === 'IF';
    if (ifExists) at += 2;
    for (; at < tokens.length; at += 2) {
      const name = identifierName(tokens[at]);
      if (name === undefined) break;
      if (!this.users.delete(name) && !ifExists) {
        throw new Error(
          `Code: 192. DB::Exception: There is no user \`${name}\` in user directories. (UNKNOWN_USER)`,
        );
      }
      if (tokens[at + 1]?.text !== ',') break;
    }
  }

  private checkGrantee(tokens: Token[], kind: string): void {
    const to = tokens.findLastIndex(
      (token) => token.text.toUpperCase() === (kind === 'GRANT' ? 'TO' : 'FROM'),
    );
    const name = identifierName(tokens[to + 1]);
    if (name !== undefined && !this.users.has(name)) {
      throw new Error(
        `Code: 511. DB::Exception: There is no role \`${name}\` in user directories. (UNKNOWN_ROLE)`,
      );
    }
  }
}

/** The next `count` significant tokens after position `i`, with their positions. */
function nextSignificant(tokens: Token[], i: number, count: number): { token: Token; index: number }[] {
  const found: { token: Token; index: number }[] = [];
  for (let j = i + 1; j < tokens.length && found.length < count; j++) {
    if (isSignificant(tokens[j]!)) found.push({ token: tokens[j]!, index: j });
  }
  return found;
}
