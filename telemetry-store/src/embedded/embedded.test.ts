import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../registry';
import { describeStoreContract } from '../testing/store-contract';

// The contract suite on DuckDB files in a temp directory, one file per store the suite opens.
let dir = '';
let n = 0;
describeStoreContract('embedded', () => openStore({ kind: 'embedded', path: join(dir, `t${++n}`, 'telemetry.duckdb') }), {
  before: async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-store-contract-'));
  },
  after: () => rm(dir, { recursive: true, force: true }),
});
