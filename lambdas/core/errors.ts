/**
 * Every error the platform raises on purpose. Each carries a stable `code` that users, tests and the
 * report can rely on, whether a retry could help (`retryable`), where it happened, and its `cause`.
 * Messages say what went wrong and what to do next.
 */
export interface ErrorContext {
  executionId?: string;
  connector?: string;
  step?: string;
  chunk?: number;
  row?: number;
  /** A JSON path into a definition, e.g. `loadSteps[0].matching[1].variable`. */
  path?: string;
}

export class ScError extends Error {
  override name = 'ScError';
  readonly code: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

/** One problem found in a connector or object definition. */
export interface DefinitionIssue {
  /** JSON path of the offending value, e.g. `variables[2].type`; empty for the document itself. */
  path: string;
  message: string;
}

/** A definition (connector, object) is invalid. The CLI exits with code 2. */
export class DefinitionError extends ScError {
  override name = 'DefinitionError';
  readonly issues: DefinitionIssue[];

  /** `source` names what was checked (a file, a connector); `verdict` says what is wrong with it. */
  constructor(source: string, issues: DefinitionIssue[], verdict = 'is invalid') {
    super(
      'INVALID_DEFINITION',
      `${source} ${verdict}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

/** The input file cannot be read as any supported format. The execution fails; the file is kept. */
export class InputError extends ScError {
  override name = 'InputError';
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The connector's SQL failed: a ClickHouse error, a `throwIf`, no output table, or a limit. */
export class SqlError extends ScError {
  override name = 'SqlError';
  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, options);
  }
}

/** Bad usage of a command or API: an unknown connector or object, a missing file. */
export class UsageError extends ScError {
  override name = 'UsageError';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
