import type { Execution } from '../../lambdas/core/model.ts';

/**
 * An ended execution: the catalog example (examples/catalog) run live on its sample file, with one invalid
 * row and one failed product. Tests override what they vary.
 */
export function catalogRunExecution(overrides: Partial<Execution> = {}): Execution {
  return { ...CATALOG_RUN, ...overrides };
}

const CATALOG_RUN: Execution = {
  id: '73e8b225-a51f-47ef-93fd-a196c7122062',
  connectorId: '0b6f0d52-5c1e-4f0a-9a43-2f4f6f3be2d1',
  connectorApiName: 'vendor_product_import',
  connectorName: 'Vendor product import',
  connectorVersion: 3,
  status: 'partial_success',
  dryRun: false,
  diffCheck: false,
  trigger: 'upload',
  initiatedBy: 'maria.lopez@example.com',
  createdAt: '2025-06-12T14:30:04.981Z',
  startedAt: '2025-06-12T14:30:05.412Z',
  endedAt: '2025-06-12T14:30:52.724Z',
  stage: 'done',
  progress: { rowsDone: 7, rowsTotal: 7, chunksDone: 2, chunksTotal: 2 },
  counts: {
    scopes: { catalog: { rows: 7, valid: 6, invalid: 1 } },
    steps: [
      {
        name: 'Vendors',
        object: 'vendors',
        created: 4,
        updated: 0,
        unchanged: 2,
        skipped: 0,
        failed: 0,
        unprocessed: 0,
      },
      {
        name: 'Products',
        object: 'products',
        created: 5,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 1,
        unprocessed: 0,
      },
    ],
  },
  error: null,
  inputFile: {
    name: 'catalog.csv',
    size: 1041,
    key: 'executions/73e8b225-a51f-47ef-93fd-a196c7122062/input/catalog.csv',
  },
  sqlOutputKey: 'executions/73e8b225-a51f-47ef-93fd-a196c7122062/sql/catalog.jsonl',
  reportKey: 'executions/73e8b225-a51f-47ef-93fd-a196c7122062/report.xlsx',
  cancelRequested: false,
};
