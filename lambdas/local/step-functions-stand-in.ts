import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { awsJson10, readOperation, standInClientConfig, startHttpStandIn } from './http-stand-in.ts';

/**
 * An embedded Step Functions for tests: a `node:http` server answering `StartExecution` (AWS JSON 1.0,
 * `X-Amz-Target: AWSStepFunctions.StartExecution`) so `StepFunctionsOrchestrator` runs unchanged
 * against it. It records executions and hands each new one to `onStart`, but runs nothing itself: an
 * execution stays open forever. Names behave as on a Standard state machine: a start repeating the name
 * and input of an execution gets that execution back; the same name with another input gets
 * `ExecutionAlreadyExists` (as does any reuse of a closed execution's name in AWS). It checks names as
 * AWS does and that input is JSON, and can fail the next request the way Step Functions does. Any
 * well-formed state machine ARN is accepted (no `StateMachineDoesNotExist`); no Express semantics, no
 * other operation, no signature check; error messages are its own.
 */

export interface StepFunctionsStandInOptions {
  /** Called for every new execution with its parsed input and its name, before the start is answered. */
  onStart?: (input: unknown, name: string) => void;
}

export interface StartedExecution {
  stateMachineArn: string;
  name: string;
  /** The parsed `input`. */
  input: unknown;
}

export interface StepFunctionsStandIn {
  /** `http://127.0.0.1:<port>`, for `sfnClientFor` or `AWS_ENDPOINT_URL_SFN`. */
  endpoint: string;
  /** Every new execution, in start order; a repeated start adds none. */
  started: StartedExecution[];
  /**
   * Answers the next request with `status` and an AWS JSON error naming `code` (e.g. 400
   * `ThrottlingException`, 400 `StateMachineDoesNotExist`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

const STATE_MACHINE_ARN = /^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[^:]+$/;
/** Whitespace, brackets, wildcards and the special characters AWS forbids in a name. */
const FORBIDDEN_IN_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;

interface StartExecutionBody {
  stateMachineArn?: unknown;
  name?: unknown;
  input?: unknown;
}

interface Execution {
  executionArn: string;
  /** Epoch seconds, as the JSON 1.0 protocol writes timestamps. */
  startDate: number;
  /** The input text as sent, which a repeated start must match. */
  inputText: string;
}

export async function startStepFunctionsStandIn(
  options: StepFunctionsStandInOptions = {},
): Promise<StepFunctionsStandIn> {
  const started: StartedExecution[] = [];
  const executions = new Map<string, Execution>();
  const { error, reply } = awsJson10;

  const server = await startHttpStandIn({
    protocol: awsJson10,
    internalErrorCode: 'InternalFailure',
    handle: (request) => {
      const read = readOperation<StartExecutionBody>(awsJson10, request, 'AWSStepFunctions.StartExecution');
      if ('error' in read) return read.error;
      const { body } = read;
      const { stateMachineArn } = body;
      if (typeof stateMachineArn !== 'string' || !STATE_MACHINE_ARN.test(stateMachineArn)) {
        return error(400, 'InvalidArn', `Invalid state machine ARN: ${String(stateMachineArn)}`);
      }
      const name = body.name ?? randomUUID();
      if (typeof name !== 'string' || !isValidName(name)) {
        return error(400, 'InvalidName', `Invalid execution name: ${String(name)}`);
      }
      const inputText = body.input ?? '{}';
      if (typeof inputText !== 'string') {
        return error(400, 'SerializationException', 'input must be a string.');
      }
      let input: unknown;
      try {
        input = JSON.parse(inputText);
      } catch {
        return error(400, 'InvalidExecutionInput', 'The execution input is not JSON.');
      }

      const key = `${stateMachineArn}\n${name}`;
      const existing = executions.get(key);
      if (existing) {
        if (existing.inputText !== inputText) {
          return error(400, 'ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
        }
        return reply({ executionArn: existing.executionArn, startDate: existing.startDate });
      }
      const execution: Execution = {
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        startDate: Date.now() / 1000,
        inputText,
      };
      executions.set(key, execution);
      started.push({ stateMachineArn, name, input });
      options.onStart?.(input, name);
      return reply({ executionArn: execution.executionArn, startDate: execution.startDate });
    },
  });
  return { ...server, started };
}

/** 1 to 80 characters, none of them forbidden or a control character (U+0000–001F, U+007F–009F). */
function isValidName(name: string): boolean {
  if (name.length < 1 || name.length > 80 || FORBIDDEN_IN_NAME.test(name)) return false;
  return [...name].every((c) => {
    const code = c.codePointAt(0)!;
    return code > 0x1f && (code < 0x7f || code > 0x9f);
  });
}

/** A Step Functions client for the stand-in: dummy credentials. */
export function sfnClientFor(endpoint: string, options: { maxAttempts?: number } = {}): SFNClient {
  return new SFNClient(standInClientConfig(endpoint, options));
}
