import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { secretCollections } from '../core/secret-members.ts';
import { WEBHOOKS_INPUT_VIEW, WEBHOOKS_RAW_TABLE } from '../core/webhook-intake.ts';
import { DEFAULT_SQL_LIMITS } from '../ports/sql-engine.ts';
import { prepareInput } from './input/read-input.ts';
import { prepareReferenceData } from './reference-data.ts';
import { artifacts } from './artifacts.ts';
import { loadContext } from './context.ts';
import type { Ports } from './ports.ts';

export interface SqlStageResult {
  scopes: Array<{ name: string; columns: string[]; rows: number }>;
}

/**
 * Turns the input file into tables, runs the connector's SQL (or takes the single input table as the
 * `default` scope) and stores every scope as JSON Lines. A SQL error rejects with the ClickHouse message.
 * The connector's secrets reach the engine as named collections (`core/secret-members.ts`), and only
 * there: the engine redacts their values from every message.
 */
export async function runSqlStage(ports: Ports, executionId: string): Promise<SqlStageResult> {
  const { execution, definition } = await loadContext(ports, executionId);
  await ports.executions.update(executionId, { stage: 'sql' });
  // First, so a missing or malformed secret fails the run before any input is read or SQL runs.
  const secrets = secretCollections(await ports.secrets.getSecrets(definition.secrets));
  const workDir = await mkdtemp(join(ports.tmpDir, `sql-${executionId.slice(0, 8)}-`));
  try {
    const input = execution.inputFile;
    const inputs = input
      ? await prepareInput(await ports.blobs.localPath(input.key), input.name, workDir, {
          ...(input.table ? { table: input.table } : {}),
        })
      : [];
    const referenceData = await prepareReferenceData(ports, definition.referenceData, workDir);
    const outputDir = join(workDir, 'output');
    const result = await ports.sql.run({
      executionId,
      inputs,
      referenceData,
      // A webhook batch also gets its typed view, input.webhooks (SPEC §8).
      inputViews: input?.table === WEBHOOKS_RAW_TABLE ? [WEBHOOKS_INPUT_VIEW] : [],
      script: definition.sql,
      parameters: definition.parameters,
      currentExecution: {
        execution_id: execution.id,
        connector_id: execution.connectorId,
        connector_api_name: execution.connectorApiName,
        trigger_type: execution.trigger,
        initiated_by: execution.initiatedBy,
        file_name: input?.name ?? '',
        file_size: input?.size ?? 0,
        is_dry_run: execution.dryRun,
        started_at: execution.startedAt ?? ports.clock.now().toISOString(),
      },
      secrets,
      outputDir,
      limits: { ...DEFAULT_SQL_LIMITS, ...definition.settings.sqlLimits },
    });
    for (const scope of result.scopes) {
      await ports.blobs.putFile(artifacts.sqlScope(executionId, scope.name), scope.path);
    }
    await ports.executions.update(executionId, { sqlOutputKey: `executions/${executionId}/sql/` });
    return { scopes: result.scopes.map(({ name, columns, rows }) => ({ name, columns, rows })) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
