/**
 * The catalog benchmark: generates a messy catalog CSV of N rows (default 200,000; `--rows N` or
 * BENCH_ROWS), then runs the example connector on it twice in a fresh workspace — a dry run, then a
 * live run, each in a process of its own — and reports, per stage (SQL, variables, each load step,
 * report), the wall time, rows per second and the peak memory (RSS of the run's process, and of its SQL
 * child process).
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { cp, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { applyConnector, applyObjects, findWorkspace, loadObjects } from '../../lambdas/local/workspace.ts';
import { openLocalRuntime } from '../../lambdas/local/runtime.ts';
import type { ProgressEvent } from '../../lambdas/local/run-execution.ts';
import { runLocally } from '../../lambdas/local/run-locally.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const execFileAsync = promisify(execFile);
const argRows = process.argv.indexOf('--rows');
const ROWS = Number(argRows > 0 ? process.argv[argRows + 1] : (process.env.BENCH_ROWS ?? 200_000));

const VENDORS = ['Green Valley Farms', 'Sunrise Dairy', 'Stone Mill Bakery', 'Coastal Catch', 'Orchard Lane'];
const CATEGORIES = ['Fruit', 'Vegetables', 'Dairy', 'Bakery'];
const TAGS = ['Organic', 'Local', 'Seasonal', 'Organic;Local', ''];

async function generateCatalog(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write(
    'Vendor Name,Vendor Email,Vendor Phone,SKU,Product Name,Price,Launch Date,In Stock,Category,Tags\n',
  );
  for (let i = 0; i < rows; i++) {
    const v = i % (VENDORS.length * 40);
    const vendor = `${VENDORS[v % VENDORS.length]} ${Math.floor(v / VENDORS.length)}`;
    const day = String((i % 28) + 1).padStart(2, '0');
    const month = String((i % 12) + 1).padStart(2, '0');
    const date =
      i % 3 === 0 ? `2024-${month}-${day}` : i % 3 === 1 ? `${month}/${day}/2024` : `2024/${month}/${day}`;
    const price = i % 2 === 0 ? `$${(i % 5000) / 100 + 1} USD` : `${(i % 90000) / 100 + 1}`;
    const line = [
      vendor,
      `Sales${v}@Vendor${v}.example`,
      `(415) 555-${String(1000 + (v % 9000)).slice(-4)}`,
      `sku-${i}`,
      `Product ${i}`,
      `"${price}"`,
      date,
      i % 2 === 0 ? 'yes' : 'No',
      CATEGORIES[i % CATEGORIES.length],
      TAGS[i % TAGS.length],
    ].join(',');
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface StageFigure {
  stage: string;
  seconds: number;
  rows: number;
}

async function measureRun(dryRun: boolean, workspaceDir: string, inputPath: string) {
  const workspace = findWorkspace({ explicit: workspaceDir, from: workspaceDir });
  const runtime = await openLocalRuntime(workspace);
  try {
    const objects = await loadObjects(workspace);
    await applyObjects(runtime.ports.connectors, objects);
    const applied = await applyConnector(
      runtime.ports.connectors,
      workspace,
      join(workspaceDir, 'vendor_product_import'),
      objects,
      runtime.ports.clock,
    );
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const marks: Array<{ label: string; at: number }> = [];
    const started = performance.now();
    let lastLabel = '';
    const onProgress = (e: ProgressEvent) => {
      const label = e.stage === 'load' ? `load step ${e.step!.index + 1} (${e.step!.name})` : e.stage;
      if (label !== lastLabel) marks.push({ label, at: performance.now() });
      lastLabel = label;
    };
    const { execution } = await runLocally(runtime, {
      connector: applied.connector,
      definition: applied.version.definition,
      objects: new Map(objects.map((o) => [o.apiName, o])),
      inputPath,
      dryRun,
      initiatedBy: 'bench',
      onProgress,
    });
    const ended = performance.now();
    clearInterval(sampler);

    const scopeRows = Object.values(execution.counts.scopes).reduce((n, s) => n + s.rows, 0);
    const validRows = Object.values(execution.counts.scopes).reduce((n, s) => n + s.valid, 0);
    const figures: StageFigure[] = marks.map((m, i) => ({
      stage: m.label,
      seconds: ((marks[i + 1]?.at ?? ended) - m.at) / 1000,
      rows: m.label.startsWith('load') ? validRows : scopeRows,
    }));
    return {
      execution,
      figures,
      totalSeconds: (ended - started) / 1000,
      peakRssMb: peakRss / 1024 / 1024,
      sqlChildPeakRssMb: runtime.sqlEngine.peakRssBytes / 1024 / 1024,
    };
  } finally {
    await runtime.close();
  }
}

function table(title: string, result: Awaited<ReturnType<typeof measureRun>>): string {
  const lines = [
    `${title}: ${result.execution.status} in ${result.totalSeconds.toFixed(1)} s; peak RSS ${result.peakRssMb.toFixed(0)} MB (SQL child ${result.sqlChildPeakRssMb.toFixed(0)} MB)`,
    ...(result.execution.error
      ? [`  error ${result.execution.error.code}: ${result.execution.error.message}`]
      : []),
    '  stage                          seconds     rows/s',
  ];
  for (const f of result.figures) {
    lines.push(
      `  ${f.stage.padEnd(30)} ${f.seconds.toFixed(2).padStart(7)} ${Math.round(
        f.rows / Math.max(f.seconds, 0.001),
      )
        .toLocaleString('en-US')
        .padStart(10)}`,
    );
  }
  return lines.join('\n');
}

/** `--run dry|live --dir <workspace>`: one measured run, in a process of its own, printed as JSON. */
const runArg = process.argv.indexOf('--run');
if (runArg > 0) {
  const dir = process.argv[process.argv.indexOf('--dir') + 1]!;
  const result = await measureRun(process.argv[runArg + 1] === 'dry', dir, join(dir, 'catalog-bench.csv'));
  const { status, error } = result.execution;
  process.stdout.write(JSON.stringify({ ...result, execution: { status, error } }) + '\n');
} else {
  const dir = await mkdtemp(join(tmpdir(), 'sc-bench-'));
  try {
    await cp(join(ROOT, 'examples/catalog'), dir, {
      recursive: true,
      filter: (s) => !s.split(/[\\/]/).includes('.sc'),
    });
    // The bench runs the example connector with the default chunk size.
    const connectorFile = join(dir, 'vendor_product_import/connector.json');
    const connector = JSON.parse(await readFile(connectorFile, 'utf8'));
    connector.settings.chunkSize = 1000;
    await writeFile(connectorFile, JSON.stringify(connector));
    const t0 = performance.now();
    await generateCatalog(join(dir, 'catalog-bench.csv'), ROWS);
    console.log(
      `Generated ${ROWS.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    // Each run in its own process, so its peak memory is its own.
    console.log(table('Dry run', await runInChild('dry', dir)));
    console.log(table('Live run', await runInChild('live', dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runInChild(
  mode: 'dry' | 'live',
  dir: string,
): Promise<Awaited<ReturnType<typeof measureRun>>> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [join(ROOT, 'bin/bench.js'), '--run', mode, '--dir', dir],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!);
}
