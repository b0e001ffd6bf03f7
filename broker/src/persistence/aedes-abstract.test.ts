import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { FilePersistence } from './file-persistence';

// Aedes' own contract for persistence back ends (aedes-persistence 11 ships it as abstract.js, on
// node:test). testAsync: Aedes 1.x calls the async API directly, and so does this suite.
const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test;
  persistence: () => FilePersistence;
  testAsync: boolean;
}) => void;

const root = mkdtempSync(join(tmpdir(), 'poste-persistence-abstract-'));
after(() => rmSync(root, { recursive: true, force: true }));
let instances = 0;

abstractPersistence({
  test,
  // A fresh directory per test: each test expects an empty persistence.
  persistence: () => new FilePersistence({ dir: join(root, String(instances++)), logger: pino({ level: 'silent' }) }),
  testAsync: true,
});
