import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { DiskSpool, SpoolFullError, type SpoolOptions } from './disk-spool';
import { HEADER_BYTES } from './record-format';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'poste-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (i: number): Buffer => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(i % 17) }));
const ids = (records: { payload: Buffer }[]): number[] => records.map((r) => (JSON.parse(r.payload.toString()) as { i: number }).i);
const open = (dir: string, o: Partial<SpoolOptions> = {}): DiskSpool =>
  new DiskSpool({ dir, maxBytes: 1024 * 1024, overflow: 'refuse', segmentBytes: 4096, ...o });

describe('DiskSpool', () => {
  test('appends, reads in order, acks, and releases delivered segments', () => {
    const dir = tempDir();
    const s = open(dir);
    for (let i = 1; i <= 500; i++) assert.equal(s.append(rec(i)), i);
    assert.equal(s.depth, 500);
    assert.ok(s.stats().segments > 3, 'several segments');
    const got: number[] = [];
    for (let batch = s.readNext(64); batch.length > 0; batch = s.readNext(64)) {
      got.push(...ids(batch));
      for (const r of batch) s.ack(r.seq);
    }
    assert.deepEqual(
      got,
      Array.from({ length: 500 }, (_, k) => k + 1),
    );
    assert.equal(s.depth, 0);
    assert.equal(s.stats().segments, 1, 'only the segment being written stays');
    assert.equal(s.oldestUnackedAt(), null);
    s.close();
  });

  test('survives close and reopen: unacked records come back, acked ones do not', () => {
    const dir = tempDir();
    const s = open(dir);
    for (let i = 1; i <= 300; i++) s.append(rec(i));
    const first = s.readNext(120);
    for (const r of first) s.ack(r.seq);
    s.close();
    const again = open(dir);
    assert.equal(again.depth, 180);
    assert.equal(again.nextSeq, 301);
    assert.deepEqual(
      ids(again.readNext(1000)),
      Array.from({ length: 180 }, (_, k) => k + 121),
    );
    assert.equal(again.append(rec(301)), 301, 'seq numbering continues');
    again.close();
  });

  test('acks out of order: the cursor advances only over a contiguous prefix; rewind replays the gaps', () => {
    const dir = tempDir();
    const s = open(dir);
    for (let i = 1; i <= 10; i++) s.append(rec(i));
    const batch = s.readNext(10);
    for (const seq of [2, 3, 5, 1]) s.ack(batch[seq - 1]!.seq);
    assert.equal(s.ackedThrough, 3);
    assert.equal(s.depth, 6);
    s.rewind();
    assert.deepEqual(ids(s.readNext(100)), [4, 6, 7, 8, 9, 10], 'acked 5 is not sent again');
    s.close();
    const reopened = open(dir);
    // The persisted cursor is contiguous: 5 comes back once (a duplicate downstream, never a loss).
    assert.deepEqual(ids(reopened.readNext(100)), [4, 5, 6, 7, 8, 9, 10]);
    reopened.close();
  });

  test('rewind after a lost connection re-reads everything unacknowledged, in order', () => {
    const s = open(tempDir());
    for (let i = 1; i <= 200; i++) s.append(rec(i));
    const sent = s.readNext(150);
    for (const r of sent.slice(0, 40)) s.ack(r.seq);
    s.rewind();
    assert.deepEqual(
      ids(s.readNext(1000)),
      Array.from({ length: 160 }, (_, k) => k + 41),
    );
    s.close();
  });

  test('a torn tail (power lost mid-write) is cut on open with a warning, never a crash', () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 * 1024 });
    for (let i = 1; i <= 20; i++) s.append(rec(i));
    s.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    const path = join(dir, seg);
    const size = statSync(path).size;
    truncateSync(path, size - 5); // half of the last record
    appendFileSync(path, Buffer.alloc(0));
    const warnings: string[] = [];
    const again = open(dir, { segmentBytes: 1024 * 1024, onWarning: (w) => warnings.push(w) });
    assert.equal(again.depth, 19);
    assert.match(warnings.join('\n'), /torn tail/);
    assert.ok(again.stats().repairedBytes > 0);
    assert.deepEqual(
      ids(again.readNext(100)),
      Array.from({ length: 19 }, (_, k) => k + 1),
    );
    assert.equal(again.append(rec(99)), 20, "the cut record's seq is reused for the next append");
    again.close();
  });

  test('a flipped bit is detected by the checksum and cut there', () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 * 1024 });
    for (let i = 1; i <= 10; i++) s.append(rec(i));
    s.close();
    const path = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const buf = readFileSync(path);
    // Corrupt the payload of the 6th record.
    let off = 0;
    for (let k = 0; k < 5; k++) off += HEADER_BYTES + buf.readUInt32LE(off);
    buf.writeUInt8(buf.readUInt8(off + HEADER_BYTES + 2) ^ 0xff, off + HEADER_BYTES + 2);
    writeFileSync(path, buf);
    const warnings: string[] = [];
    const again = open(dir, { segmentBytes: 1024 * 1024, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(ids(again.readNext(100)), [1, 2, 3, 4, 5]);
    assert.match(warnings.join('\n'), /corrupt record/);
    again.close();
  });

  test('a corrupt cursor file replays the whole spool and says so', () => {
    const dir = tempDir();
    const s = open(dir);
    for (let i = 1; i <= 5; i++) s.append(rec(i));
    for (const r of s.readNext(3)) s.ack(r.seq);
    s.close();
    writeFileSync(join(dir, 'cursor.json'), '{"acked": "three"');
    const warnings: string[] = [];
    const again = open(dir, { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(ids(again.readNext(100)), [1, 2, 3, 4, 5]);
    assert.match(warnings.join('\n'), /not a valid cursor|unreadable/);
    again.close();
  });

  test('refuse policy: a full spool throws SpoolFullError and keeps every record it accepted', () => {
    const s = open(tempDir(), { maxBytes: 8192, segmentBytes: 2048, overflow: 'refuse' });
    let accepted = 0;
    assert.throws(() => {
      for (let i = 1; i <= 10_000; i++) {
        s.append(rec(i));
        accepted++;
      }
    }, SpoolFullError);
    assert.ok(accepted > 50);
    assert.equal(s.depth, accepted);
    assert.ok(s.bytes <= 8192);
    assert.deepEqual(
      ids(s.readNext(100_000)),
      Array.from({ length: accepted }, (_, k) => k + 1),
    );
    s.close();
  });

  test('drop-oldest policy: bounded bytes, the newest records kept, every drop reported and counted', () => {
    const drops: { records: number; bytes: number }[] = [];
    const s = open(tempDir(), { maxBytes: 8192, segmentBytes: 2048, overflow: 'drop-oldest', onDrop: (d) => drops.push(d) });
    for (let i = 1; i <= 2000; i++) {
      s.append(rec(i));
      assert.ok(s.bytes <= 8192, `bytes ${s.bytes} after ${i}`);
    }
    const dropped = drops.reduce((n, d) => n + d.records, 0);
    assert.equal(s.stats().dropped, dropped);
    const left = ids(s.readNext(100_000));
    assert.equal(left.length + dropped, 2000, 'every record is either kept or counted as dropped');
    assert.equal(left.at(-1), 2000);
    assert.deepEqual(
      left,
      Array.from({ length: left.length }, (_, k) => 2000 - left.length + 1 + k),
      'kept records are the newest, in order',
    );
    s.close();
  });

  test('drop-oldest does not count delivered records as dropped', () => {
    const drops: number[] = [];
    const s = open(tempDir(), { maxBytes: 8192, segmentBytes: 2048, overflow: 'drop-oldest', onDrop: (d) => drops.push(d.records) });
    for (let i = 1; i <= 2000; i++) {
      s.append(rec(i));
      for (const r of s.readNext(10)) s.ack(r.seq);
    }
    assert.deepEqual(drops, []);
    assert.equal(s.stats().dropped, 0);
    s.close();
  });

  test('stats: depth, bytes, oldest unacked age', () => {
    let now = 1_000;
    const s = open(tempDir(), { now: () => now });
    s.append(rec(1));
    now = 2_000;
    s.append(rec(2));
    assert.equal(s.oldestUnackedAt(), 1_000);
    s.ack(1);
    assert.equal(s.oldestUnackedAt(), 2_000);
    const st = s.stats();
    assert.equal(st.depth, 1);
    assert.equal(st.appended, 2);
    assert.equal(st.acked, 1);
    assert.ok(st.bytes > 0);
    s.close();
  });

  test('SIGKILL right after appends loses nothing that append() returned for', async () => {
    const dir = tempDir();
    const script = `
      import { DiskSpool } from ${JSON.stringify(new URL('./disk-spool.ts', import.meta.url).href)};
      const s = new DiskSpool({ dir: ${JSON.stringify(dir)}, maxBytes: 64 * 1024 * 1024, overflow: 'refuse', segmentBytes: 65536, syncIntervalMs: 60000 });
      let i = 0;
      const tick = () => {
        for (let k = 0; k < 200; k++) { i++; s.append(Buffer.from(JSON.stringify({ i }))); }
        if (i % 600 === 0) for (const r of s.readNext(100)) s.ack(r.seq);
        process.stdout.write(i + '\\n');
        setImmediate(tick);
      };
      tick();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastReported = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        const lines = d.toString().trim().split('\n');
        lastReported = Number(lines.at(-1));
        if (lastReported >= 20_000) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const s = open(dir, { maxBytes: 64 * 1024 * 1024, segmentBytes: 65536 });
    const all = ids(s.readNext(1_000_000));
    const acked = s.ackedThrough;
    // Every record the child reported appended is there, after the acked prefix, in order, once.
    assert.ok(all.length > 0);
    assert.equal(all[0], acked + 1);
    for (let k = 1; k < all.length; k++) assert.equal(all[k], all[k - 1]! + 1);
    assert.ok(all.at(-1)! >= lastReported, `last on disk ${all.at(-1)} < last reported ${lastReported}`);
    s.close();
  });
});
