// Spool append and replay (the gateway's store-and-forward path) beside the plainest careful
// alternative on the same disk in the same run: newline-delimited JSON written with one
// writeSync per reading and read back whole (no checksum, no cursor, no segments).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskSpool } from '@poste/spool';
import type { BenchModule } from './bench-kit';
import { msSince, nowNs, report } from './bench-kit';

function readings(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(
      JSON.stringify({
        device: `cps-gw1-lum-${i % 1000}`,
        ts: 1_700_000_000_000 + i * 1000,
        activePower: 84.2,
        activeEnergy: 123_456 + i,
        dimLevel: 70,
        voltage: 221.3,
        current: 0.38,
        powerFactor: 0.97,
        operatingHours: 1234.5,
        status: 'on',
      }),
    ),
  );
}

export const spoolBench: BenchModule = {
  name: 'spool',
  description: 'disk spool append (one reading per call, as devices arrive) and replay (read 500, ack) vs NDJSON writeSync',
  run({ quick }) {
    const n = quick ? 20_000 : 200_000;
    const data = readings(n);
    const dir = mkdtempSync(join(tmpdir(), 'poste-spool-bench-'));
    try {
      const spool = new DiskSpool({ dir: join(dir, 'spool'), maxBytes: 1024 * 1024 * 1024, overflow: 'refuse' });
      let t = nowNs();
      for (const d of data) spool.append(d);
      spool.sync();
      const appendMs = msSince(t);
      t = nowNs();
      let replayed = 0;
      for (let batch = spool.readNext(500); batch.length > 0; batch = spool.readNext(500)) {
        replayed += batch.length;
        spool.ackThrough(batch.at(-1)!.seq);
      }
      const replayMs = msSince(t);
      spool.close();
      if (replayed !== n) throw new Error(`spool replayed ${replayed} of ${n}`);

      const file = join(dir, 'baseline.ndjson');
      t = nowNs();
      const fd = openSync(file, 'w');
      const nl = Buffer.from('\n');
      for (const d of data) {
        writeSync(fd, d);
        writeSync(fd, nl);
      }
      closeSync(fd);
      const baseAppendMs = msSince(t);
      t = nowNs();
      const lines = readFileSync(file)
        .toString()
        .split('\n')
        .filter((l) => l.length > 0);
      const baseReplayMs = msSince(t);
      if (lines.length !== n) throw new Error(`baseline read ${lines.length} of ${n}`);

      const rate = (ms: number) => Math.round((n / ms) * 1000);
      report(
        'spool append',
        {
          readings: n,
          'readings/s': rate(appendMs),
          'baseline readings/s': rate(baseAppendMs),
          ratio: (baseAppendMs / appendMs).toFixed(2),
        },
        '≥ 20k readings/s',
      );
      report(
        'spool replay (read+ack)',
        {
          readings: n,
          'readings/s': rate(replayMs),
          'baseline readings/s': rate(baseReplayMs),
          ratio: (baseReplayMs / replayMs).toFixed(2),
        },
        '≥ 20k readings/s',
      );
      console.log(
        '   baseline: NDJSON, one writeSync per reading + newline, read back whole with readFileSync; no checksums, no cursor, no fsync',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
