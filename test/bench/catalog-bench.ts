/**
 * The catalog benchmark: generates a messy catalog CSV of N rows (default 200,000; `--rows N` or
 * BENCH_ROWS), then runs the example connector on it twice in a fresh workspace — a dry run, then a
 * live run — and reports, per stage (SQL, variables, each load step, report), the wall time, rows per
 * second and the peak memory (RSS of this process, and of the SQL child process).
 */
import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { applyConnector, applyObjects, findWorkspace, loadObjects } from '../../lambdas/local/workspace.ts';
import { openLocalRuntime } from '../../lambdas/local/runtime.ts';
import { registerExecution } from '../../lambdas/pipeline/register.ts';
import { runExecution, type ProgressEvent } from '../../lambdas/local/run-execution.ts';

const ROOT = resolve(import.meta.dirname, '../..');
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
    const { connector } = await applyConnector(
      runtime.ports.connectors,
      workspace,
      join(workspaceDir, 'vendor_product_import'),
      objects,
      runtime.ports.clock,
    );
    if (!dryRun && connector.status === 'setup') {
      await runtime.ports.connectors.updateConnector(connector.id, { status: 'operational' });
    }
    const registered = await registerExecution(runtime.ports, {
      connectorRef: connector.id,
      input: { path: inputPath },
      dryRun,
      trigger: 'upload',
      initiatedBy: 'bench',
    });

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
    const execution = await runExecution(runtime.ports, registered.id, onProgress);
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
  const input = join(dir, 'catalog-bench.csv');
  const t0 = performance.now();
  await generateCatalog(input, ROWS);
  console.log(
    `Generated ${ROWS.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(table('Dry run', await measureRun(true, dir, input)));
  console.log(table('Live run', await measureRun(false, dir, input)));
} finally {
  await rm(dir, { recursive: true, force: true });
}
