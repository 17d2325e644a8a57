import { createHash } from 'node:crypto';
import type { ConnectorDefinition, LoadStep, VariableDefinition } from '../core/connector-schema.ts';
import { diffKey, stepFingerprint, stepVariableNames } from '../core/diff-key.ts';
import { planWrite, rowLookups, type MappingContext, type VariableInfo } from '../core/mapping.ts';
import { matchRow, matchValueKey, type MatchDecision } from '../core/matching.ts';
import type { ResolvedRow, RowIssue, RowResult, ScalarValue, StoredRecord } from '../core/model.ts';
import { findField, type FieldDefinition, type ObjectDefinition } from '../core/object-schema.ts';
import { formatVariableValue } from '../core/variables/index.ts';
import type { RecordEvent } from '../ports/event-publisher.ts';
import { artifacts, type ExecutionPlan } from './artifacts.ts';
import { loadContext } from './context.ts';
import { readJsonlBlobAll, toJsonl } from './jsonl.ts';
import type { Ports } from './ports.ts';
import { RecordOverlay } from './record-overlay.ts';

export interface ChunkCounts {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

/**
 * What a dry run keeps for its whole run instead of writing it: records (an overlay that is never
 * flushed) and object definitions (options that `createOptions` adds). Live runs have none and write
 * through to the stores at the end of every chunk.
 */
export interface DryRunState {
  overlay: RecordOverlay;
  /** Filled from the store by the first chunk, then changed in place. */
  objects: Map<string, ObjectDefinition>;
}

export function newDryRunState(ports: Ports): DryRunState {
  return { overlay: new RecordOverlay(ports.records), objects: new Map() };
}

export interface LoadChunkOptions {
  dryRun?: DryRunState;
}

/**
 * Loads one chunk of one step (SPEC §6): match each valid row, plan its write under the conflict policies,
 * write the chunk's records in one batch, publish trigger events, and store the rows' results. Look-ups
 * are batched per chunk; rows see what earlier rows of the run created or changed.
 */
export async function loadChunk(
  ports: Ports,
  executionId: string,
  stepIndex: number,
  chunkIndex: number,
  options: LoadChunkOptions = {},
): Promise<ChunkCounts> {
  const { execution, definition } = await loadContext(ports, executionId);
  const plan = JSON.parse(await ports.blobs.readText(artifacts.plan(executionId))) as ExecutionPlan;
  const step = definition.loadSteps[stepIndex]!;
  const { scopeIndex } = plan.steps[stepIndex]!;
  const objects = options.dryRun ? await runObjects(ports, options.dryRun.objects) : await loadObjects(ports);
  const object = objects.get(step.object)!;

  const allRows = await readJsonlBlobAll<ResolvedRow>(
    ports.blobs,
    artifacts.variablesChunk(executionId, scopeIndex, chunkIndex),
  );
  const rows = allRows.filter((r) => r.errors.length === 0);
  await addRecordVariables(ports, executionId, definition, plan, stepIndex, chunkIndex, rows);

  const variables = variableInfo(definition, stepIndex);
  const variableDefs = new Map(definition.variables.map((v) => [v.name, v]));
  const format = (value: ScalarValue, name: string) => formatScalar(value, variableDefs.get(name));
  const context: MappingContext = { object, mapping: step.mapping, objects, variables, format };

  const overlay = options.dryRun?.overlay ?? new RecordOverlay(ports.records);
  const stepFields = step.matching.map((r) => (r.field === undefined ? null : findField(object, r.field)!));
  const keysByRow = rows.map((row) =>
    step.matching.map((rule, i) =>
      matchValueKey(stepFields[i]!, variables[rule.variable]!.type, row.values[rule.variable] ?? null, (v) =>
        format(v, rule.variable),
      ),
    ),
  );
  const lookupsByRow = rows.map((row) => rowLookups(context, row.values));
  await prefetch(ports, overlay, objects, object, stepFields, keysByRow, lookupsByRow);

  const baseline = execution.diffCheck ? await loadBaseline(ports, plan, stepIndex) : null;
  const hashedNames = stepVariableNames(step);
  const fingerprint = stepFingerprint(step);
  const now = ports.clock.now().toISOString();
  const results: RowResult[] = [];
  const events: RecordEvent[] = [];
  const objectBefore = JSON.stringify(object);

  for (const [i, row] of rows.entries()) {
    const hash = sha256(fingerprint + diffKey(stepIndex, hashedNames, row.values));
    const base = { row: row.row, hash, errors: [] as RowIssue[], warnings: [] as RowIssue[], written: {} };
    const known = baseline?.get(hash);
    if (known !== undefined) {
      results.push({
        ...base,
        outcome: 'unchanged',
        recordId: known,
        matchedRule: null,
        code: 'DIFF_UNCHANGED',
      });
      continue;
    }
    const decision = matchRow(step.matching, keysByRow[i]!, (ruleIndex, key, within) => {
      const field = stepFields[ruleIndex];
      const ids =
        field === null
          ? overlay.peekRecord(object.apiName, key)
            ? [key]
            : []
          : overlay.peekIds(object.apiName, field!.apiName, key);
      const allowed = within === null ? null : new Set(within);
      return ids
        .filter((id) => allowed === null || allowed.has(id))
        .map((id) => overlay.peekRecord(object.apiName, id))
        .filter((r): r is StoredRecord => r !== undefined)
        .map((r) => ({ id: r.id, archived: r.archived, updatedAt: r.updatedAt }));
    });
    const result = applyDecision(decision, {
      row,
      base,
      context,
      overlay,
      object,
      recordId: deterministicId(executionId, stepIndex, row.row),
      now,
    });
    results.push(result);
    if (result.recordId && (result.outcome === 'created' || result.outcome === 'updated')) {
      const trigger = result.outcome === 'created' ? step.triggers.onCreate : step.triggers.onUpdate;
      if (trigger)
        events.push(recordEvent(result, execution.id, execution.connectorApiName, step, now, overlay));
    }
  }

  if (!options.dryRun) {
    await overlay.flush();
    if (JSON.stringify(object) !== objectBefore) await ports.connectors.putObject(object);
    await ports.events.publish(events);
  }
  await ports.blobs.put(artifacts.resultsChunk(executionId, stepIndex, chunkIndex), toJsonl(results));
  return countOutcomes(results);
}

interface DecisionContext {
  row: ResolvedRow;
  base: Pick<RowResult, 'row' | 'hash' | 'errors' | 'warnings' | 'written'>;
  context: MappingContext;
  overlay: RecordOverlay;
  object: ObjectDefinition;
  /** The id a record created for this row gets: derived, so a retried chunk finds its own earlier write. */
  recordId: string;
  now: string;
}

function applyDecision(decision: MatchDecision, d: DecisionContext): RowResult {
  const { row, base, overlay, object } = d;
  if (decision.kind === 'skip') {
    return {
      ...base,
      outcome: 'skipped',
      // A row skipped on a single match still names that record, so later steps can relate to it.
      recordId: decision.recordId ?? null,
      matchedRule: decision.rule,
      code: decision.code,
      warnings: [{ code: decision.code, message: decision.message }],
    };
  }
  const existing = decision.kind === 'create' ? null : overlay.peekRecord(object.apiName, decision.recordId)!;
  if (decision.kind === 'unarchive_only') {
    const record = { ...existing!, archived: false, updatedAt: d.now };
    overlay.write(object, record);
    return {
      ...base,
      outcome: 'updated',
      recordId: record.id,
      matchedRule: decision.rule,
      code: null,
      written: {},
    };
  }
  const plan = planWrite({
    ...d.context,
    values: row.values,
    existing,
    resolveLookup: (ruleIndex, key) => {
      const rule = d.context.mapping[ruleIndex]!;
      const field = findField(object, rule.field)!;
      const related = d.context.objects.get(field.relatedObject!)!;
      const relatedField = findField(related, rule.lookup!.field)!;
      return overlay
        .peekIds(related.apiName, relatedField.apiName, key)
        .filter((id) => overlay.peekRecord(related.apiName, id)?.archived === false);
    },
  });
  const matchedRule = decision.rule;
  if (plan.errors.length > 0) {
    return {
      ...base,
      outcome: 'failed',
      recordId: existing?.id ?? null,
      matchedRule,
      code: plan.errors[0]!.code,
      errors: plan.errors,
      warnings: plan.warnings,
    };
  }
  const warnings = plan.warnings;
  // createOptions: the object gains the labels now, so later rows of the run know them.
  for (const { field, label } of plan.newOptions) {
    const target = object.fields.find((f) => f.apiName === field)!;
    if (!target.options.some((o) => o.toLowerCase() === label.toLowerCase())) target.options.push(label);
  }
  if (existing === null) {
    const fields = Object.fromEntries(
      Object.entries(plan.fields).filter(([, v]) => v !== null),
    ) as StoredRecord['fields'];
    const record: StoredRecord = {
      id: d.recordId,
      object: object.apiName,
      archived: false,
      createdAt: d.now,
      updatedAt: d.now,
      fields,
    };
    overlay.write(object, record);
    return {
      ...base,
      outcome: 'created',
      recordId: record.id,
      matchedRule,
      code: null,
      warnings,
      written: fields,
    };
  }
  const unarchive = decision.kind === 'update' && decision.unarchive;
  if (!plan.changed && !unarchive) {
    return {
      ...base,
      outcome: 'unchanged',
      recordId: existing.id,
      matchedRule,
      code: 'NO_CHANGES',
      warnings,
    };
  }
  const fields = { ...existing.fields };
  for (const [name, value] of Object.entries(plan.fields)) {
    if (value === null) delete fields[name];
    else fields[name] = value;
  }
  overlay.write(object, { ...existing, archived: false, updatedAt: d.now, fields });
  return {
    ...base,
    outcome: 'updated',
    recordId: existing.id,
    matchedRule,
    code: null,
    warnings,
    written: plan.fields,
  };
}

/** Puts each earlier step's record id (its `recordVariable`) into the rows it loaded in this chunk. */
async function addRecordVariables(
  ports: Ports,
  executionId: string,
  definition: ConnectorDefinition,
  plan: ExecutionPlan,
  stepIndex: number,
  chunkIndex: number,
  rows: ResolvedRow[],
): Promise<void> {
  for (let earlier = 0; earlier < stepIndex; earlier++) {
    const name = definition.loadSteps[earlier]!.recordVariable;
    if (!name || plan.steps[earlier]!.scopeIndex !== plan.steps[stepIndex]!.scopeIndex) continue;
    const key = artifacts.resultsChunk(executionId, earlier, chunkIndex);
    const ids = new Map<number, string | null>();
    if (await ports.blobs.exists(key)) {
      for (const r of await readJsonlBlobAll<RowResult>(ports.blobs, key)) ids.set(r.row, r.recordId);
    }
    for (const row of rows) row.values[name] = ids.get(row.row) ?? null;
  }
}

/** Every variable a step may read, with record variables of earlier steps as `uuid`. */
function variableInfo(definition: ConnectorDefinition, stepIndex: number): Record<string, VariableInfo> {
  const info: Record<string, VariableInfo> = {};
  for (const v of definition.variables) info[v.name] = { type: v.type, array: v.array !== undefined };
  for (const step of definition.loadSteps.slice(0, stepIndex)) {
    if (step.recordVariable) info[step.recordVariable] = { type: 'uuid' };
  }
  return info;
}

function formatScalar(value: ScalarValue, variable: VariableDefinition | undefined): string {
  return variable ? formatVariableValue(value, variable) : String(value);
}

/** One batched look-up per matched field and per related field, for the whole chunk. */
async function prefetch(
  ports: Ports,
  overlay: RecordOverlay,
  objects: ReadonlyMap<string, ObjectDefinition>,
  object: ObjectDefinition,
  stepFields: (FieldDefinition | null)[],
  keysByRow: (string | null)[][],
  lookupsByRow: ReturnType<typeof rowLookups>[],
): Promise<void> {
  const indexed = stepFields.filter((f): f is FieldDefinition => f !== null).map((f) => f.apiName);
  if (indexed.length > 0) await ports.records.ensureIndexed(object, indexed);
  for (const [i, field] of stepFields.entries()) {
    const keys = keysByRow.map((k) => k[i]).filter((k): k is string => k !== null && k !== undefined);
    if (field === null) await overlay.prefetchRecords(object.apiName, keys);
    else await overlay.prefetchKeys(object.apiName, field, keys);
  }
  const byTarget = new Map<string, { object: ObjectDefinition; field: FieldDefinition; keys: string[] }>();
  for (const lookup of lookupsByRow.flat()) {
    if (lookup.key === null) continue;
    const id = `${lookup.object}\u0000${lookup.field}`;
    let target = byTarget.get(id);
    if (!target) {
      const related = objects.get(lookup.object)!;
      byTarget.set(id, (target = { object: related, field: findField(related, lookup.field)!, keys: [] }));
    }
    target.keys.push(lookup.key);
  }
  for (const target of byTarget.values()) {
    await ports.records.ensureIndexed(target.object, [target.field.apiName]);
    await overlay.prefetchKeys(target.object.apiName, target.field, target.keys);
  }
}

async function loadObjects(ports: Ports): Promise<Map<string, ObjectDefinition>> {
  return new Map((await ports.connectors.listObjects()).map((o) => [o.apiName, o]));
}

async function runObjects(
  ports: Ports,
  objects: Map<string, ObjectDefinition>,
): Promise<Map<string, ObjectDefinition>> {
  if (objects.size === 0) for (const [name, object] of await loadObjects(ports)) objects.set(name, object);
  return objects;
}

/** The hash → record id map the previous successful live run left for this step; cached per process. */
const baselineCache = new Map<string, Map<string, string>>();
async function loadBaseline(
  ports: Ports,
  plan: ExecutionPlan,
  stepIndex: number,
): Promise<Map<string, string> | null> {
  const baselineExecution = plan.diffBaselineExecutionId;
  if (!baselineExecution) return null;
  const key = artifacts.baseline(baselineExecution, stepIndex);
  const cached = baselineCache.get(key);
  if (cached) return cached;
  if (!(await ports.blobs.exists(key))) return null;
  const map = new Map<string, string>();
  for (const line of (await ports.blobs.readText(key)).split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) map.set(line.slice(0, tab), line.slice(tab + 1));
  }
  if (baselineCache.size >= 4) baselineCache.delete(baselineCache.keys().next().value!);
  baselineCache.set(key, map);
  return map;
}

function recordEvent(
  result: RowResult,
  executionId: string,
  connector: string,
  step: LoadStep,
  time: string,
  overlay: RecordOverlay,
): RecordEvent {
  return {
    type: result.outcome === 'created' ? 'record.created' : 'record.updated',
    object: step.object,
    recordId: result.recordId!,
    executionId,
    connector,
    step: step.name,
    row: result.row,
    time,
    fields: overlay.peekRecord(step.object, result.recordId!)?.fields ?? {},
  };
}

function countOutcomes(results: readonly RowResult[]): ChunkCounts {
  const counts: ChunkCounts = {
    rows: results.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
  };
  for (const r of results) if (r.outcome !== 'unprocessed') counts[r.outcome]++;
  return counts;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A UUID derived from (execution, step, row), shaped like a v5 UUID. */
export function deterministicId(executionId: string, stepIndex: number, row: number): string {
  const h = createHash('sha1').update(`${executionId}:${stepIndex}:${row}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
