import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EventPublisher, RecordEvent } from '../../ports/event-publisher.ts';

/** Record events appended as JSON Lines to `<workspace>/.sc/events.jsonl`: the local event bus. */
export class JsonlEventLog implements EventPublisher {
  constructor(private readonly path: string) {}

  async publish(events: readonly RecordEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
}
