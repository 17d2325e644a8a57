/**
 * A small ClickHouse-aware lexer: enough to split a script into statements and to find identifiers
 * without ever looking inside a string, a quoted identifier, a comment or a heredoc. It follows
 * ClickHouse's own lexer where that matters here:
 *
 * - `'…'` strings, `` `…` `` and `"…"` quoted identifiers: a backslash escapes the next character and
 *   a doubled quote stands for itself;
 * - comments: `-- …` and `# …` / `#!…` to the end of the line, `/* … *\/` (nested);
 * - heredocs: `$$…$$` and `$tag$…$tag$`;
 * - bare words: a letter, `_` or any non-ASCII character, then those and digits.
 *
 * It never fails: an unterminated string or comment runs to the end of the text, and the server then
 * reports the syntax error with its own message.
 */
export type TokenKind = 'space' | 'comment' | 'string' | 'quoted' | 'word' | 'number' | 'heredoc' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** The token exactly as written. */
  text: string;
}

const SPACE = /^\s+/u;
const WORD = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*/u;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|0[bB][01]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/;
const HEREDOC_OPEN = /^\$([A-Za-z0-9_]*)\$/;

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < sql.length) {
    const kind = kindAt(sql, pos, tokens);
    const end = endOf(kind, sql, pos);
    tokens.push({ kind, text: sql.slice(pos, end) });
    pos = end;
  }
  return tokens;
}

function kindAt(sql: string, pos: number, tokens: readonly Token[]): TokenKind {
  const c = sql[pos]!;
  const rest = sql.slice(pos, pos + 2);
  if (SPACE.test(c)) return 'space';
  if (rest === '--' || rest === '/*' || rest === '# ' || rest === '#!') return 'comment';
  if (c === "'") return 'string';
  if (c === '`' || c === '"') return 'quoted';
  if (c === '$' && HEREDOC_OPEN.test(sql.slice(pos, pos + 256))) return 'heredoc';
  if (WORD.test(c)) return 'word';
  // `.5` is a number, but `t.1` is a tuple element: a dot after a name or a bracket is a symbol.
  if (/\d/.test(c) || (c === '.' && /\d/.test(sql[pos + 1] ?? '') && !followsOperand(tokens)))
    return 'number';
  return 'symbol';
}

function followsOperand(tokens: readonly Token[]): boolean {
  const previous = tokens.at(-1);
  return (
    previous !== undefined &&
    (previous.kind === 'word' || previous.kind === 'quoted' || previous.text === ')' || previous.text === ']')
  );
}

function endOf(kind: TokenKind, sql: string, pos: number): number {
  switch (kind) {
    case 'space':
      return pos + SPACE.exec(sql.slice(pos))![0].length;
    case 'comment':
      return sql.startsWith('/*', pos) ? blockCommentEnd(sql, pos) : lineEnd(sql, pos);
    case 'string':
    case 'quoted':
      return quotedEnd(sql, pos);
    case 'heredoc': {
      const delimiter = HEREDOC_OPEN.exec(sql.slice(pos, pos + 256))![0];
      const close = sql.indexOf(delimiter, pos + delimiter.length);
      return close === -1 ? sql.length : close + delimiter.length;
    }
    case 'word':
      return pos + WORD.exec(sql.slice(pos, pos + 1024))![0].length;
    case 'number':
      return pos + NUMBER.exec(sql.slice(pos, pos + 1024))![0].length;
    case 'symbol':
      return pos + 1;
  }
}

function lineEnd(sql: string, pos: number): number {
  const newline = sql.indexOf('\n', pos);
  return newline === -1 ? sql.length : newline;
}

function blockCommentEnd(sql: string, pos: number): number {
  let depth = 0;
  let i = pos;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** The end of a quoted token opened at `pos`: backslash escapes, and a doubled quote continues it. */
function quotedEnd(sql: string, pos: number): number {
  const quote = sql[pos]!;
  let i = pos + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  return sql.length;
}

/** Tokens that carry meaning: not whitespace, not comments. */
export function isSignificant(token: Token): boolean {
  return token.kind !== 'space' && token.kind !== 'comment';
}

/** The name a word or a quoted identifier stands for; undefined for any other token. */
export function identifierName(token: Token | undefined): string | undefined {
  if (token?.kind === 'word') return token.text;
  if (token?.kind === 'quoted') return unquote(token.text);
  return undefined;
}

/** The value of a string literal token. */
export function stringValue(token: Token): string {
  return unquote(token.text);
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  a: '\u0007',
  v: '\v',
  '0': '\0',
  e: '\u001b',
};

/** Removes the quotes of a quoted token and resolves its escapes as ClickHouse does. */
function unquote(text: string): string {
  const quote = text[0]!;
  const body = text.endsWith(quote) && text.length > 1 ? text.slice(1, -1) : text.slice(1);
  let value = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && i + 1 < body.length) {
      const next = body[++i]!;
      const hex = next === 'x' ? /^[0-9a-fA-F]{2}/.exec(body.slice(i + 1, i + 3)) : null;
      if (hex) {
        value += String.fromCharCode(parseInt(hex[0], 16));
        i += 2;
      } else value += ESCAPES[next] ?? next;
    } else if (c === quote && body[i + 1] === quote) {
      value += quote;
      i++;
    } else value += c;
  }
  return value;
}
