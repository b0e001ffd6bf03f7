import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { JournalWriter } from './journal-writer';
import { tempDir } from './test-support';

test('concurrent durable appends are all written, in append order, and resolve once on disk', async () => {
  const { dir, remove } = await tempDir('poste-journal-');
  try {
    const path = join(dir, 'j.log');
    const writer = new JournalWriter({ path, groupCommitMs: 2 });
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}\n`);
    const done = lines.map((line, i) => {
      if (i % 3 === 0) return writer.appendDurable(line);
      writer.append(line);
      return undefined;
    });
    // A durable append resolves only after every earlier line is in the file.
    await done[300];
    assert.ok((await readFile(path, 'utf8')).startsWith(lines.slice(0, 301).join('')));
    await Promise.all(done);
    await writer.flush();
    assert.equal(await readFile(path, 'utf8'), lines.join(''));
    assert.equal(writer.bytes, Buffer.byteLength(lines.join('')));
    await writer.close();
    assert.throws(() => writer.append('late\n'), /journal is closed/);
  } finally {
    await remove();
  }
});

test('a rotation sends later lines to the new file, after the old one is complete', async () => {
  const { dir, remove } = await tempDir('poste-journal-');
  try {
    const writer = new JournalWriter({ path: join(dir, 'a.log'), groupCommitMs: 0 });
    writer.append('a1\n');
    const a2 = writer.appendDurable('a2\n');
    writer.rotate(join(dir, 'b.log'));
    assert.equal(writer.bytes, 0);
    await writer.appendDurable('b1\n');
    await a2;
    assert.equal(await readFile(join(dir, 'a.log'), 'utf8'), 'a1\na2\n');
    assert.equal(await readFile(join(dir, 'b.log'), 'utf8'), 'b1\n');
    await writer.close();
  } finally {
    await remove();
  }
});

test('after a write error every pending and later append is refused with that error', async () => {
  const { dir, remove } = await tempDir('poste-journal-');
  try {
    const writer = new JournalWriter({ path: join(dir, 'missing-dir', 'j.log'), groupCommitMs: 0 });
    const first = writer.appendDurable('x\n');
    await assert.rejects(first, { code: 'ENOENT' });
    assert.throws(() => writer.append('y\n'), { code: 'ENOENT' });
    await writer.close();
  } finally {
    await remove();
  }
});
