import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbSqlEngine } from '../../lambdas/adapters/sql/chdb/chdb-sql-engine.ts';
import { sqlEngineContract } from './sql-engine-contract.ts';

// chDB, one child process per run: what it leaves behind would be a data folder in its tmpDir.
sqlEngineContract('chDB', async () => {
  const tmpDir = await mkdtemp(join(tmpdir(), 'sc-chdb-contract-'));
  return {
    engine: new ChdbSqlEngine({ tmpDir }),
    leftovers: async () => readdir(tmpDir),
    reachesThisMachine: true,
    close: () => rm(tmpDir, { recursive: true, force: true }),
  };
});
