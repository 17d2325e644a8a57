/** A record event from a load step's triggers, for downstream automations. */
export interface RecordEvent {
  type: 'record.created' | 'record.updated';
  object: string;
  recordId: string;
  executionId: string;
  connector: string;
  step: string;
  row: number;
  time: string;
  fields: Record<string, unknown>;
}

/** EventBridge in AWS; a JSON Lines event log in the workspace locally. */
export interface EventPublisher {
  publish(events: readonly RecordEvent[]): Promise<void>;
}
