import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { StoredPacket } from './broker-state';
import { openPersistence, readAll, recordingLogger, tempDir } from './test-support';

const writerScript = fileURLToPath(new URL('./fixtures/sigkill-writer.ts', import.meta.url));

for (const killOn of ['retained', 'queued'] as const) {
  test(`SIGKILL in the tick of a ${killOn} acknowledgement: every acknowledged retained message and queued packet is found on reopen`, async () => {
    const { dir, remove } = await tempDir('poste-sigkill-');
    try {
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', writerScript, dir, '3000', killOn], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const acknowledged = { retained: new Set<number>(), queued: new Set<number>() };
      for await (const line of createInterface({ input: child.stdout })) {
        const [kind, n] = line.split(' ');
        if (kind === 'retained') acknowledged.retained.add(Number(n));
        if (kind === 'queued') acknowledged.queued.add(Number(n));
      }
      const [code, signal] = await exited;
      assert.equal(signal, 'SIGKILL', `writer exited on its own (code ${code})`);
      assert.ok(acknowledged.retained.size + acknowledged.queued.size >= 3000);

      const { logger, lines } = recordingLogger();
      const p = await openPersistence(dir, { logger, maxQueuedPerClient: 1_000_000 });
      const retained = new Map((await readAll<StoredPacket>(p.createRetainedStream('#'))).map((x) => [x.topic, String(x.payload)]));
      for (const i of acknowledged.retained)
        assert.equal(retained.get(`poste/v1/gw/gw-${i}/config/desired`), `config ${i}`, `retained ${i} lost`);
      const queued = new Set((await readAll<StoredPacket>(p.outgoingStream({ id: 'offline' }))).map((x) => String(x.payload)));
      for (const i of acknowledged.queued) assert.ok(queued.has(`cmd ${i}`), `queued ${i} lost`);
      // Nothing unreadable beyond a torn tail: no record was skipped.
      assert.ok(
        !lines.some((l) => String(l.msg).includes('skipped records')),
        JSON.stringify(lines.filter((l) => (l.level as number) >= 40)),
      );
      await p.destroy();
    } finally {
      await remove();
    }
  });
}
