import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StoredPacket } from './broker-state';
import { FilePersistence } from './file-persistence';
import { encodeRecord } from './record-codec';
import { journalPath } from './state-files';
import { openPersistence, readAll, recordingLogger, tempDir } from './test-support';

const desired = { cmd: 'publish', topic: 'poste/v1/gw/gw-1/config/desired', payload: Buffer.from('{"v":1}'), qos: 1, retain: true };
const retained = (topic: string, text: string) => ({ cmd: 'publish', topic, payload: Buffer.from(text), qos: 1, retain: true });
const text = (p: StoredPacket) => String(p.payload);

async function journals(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort();
}

test('retained messages, sessions, queued and incoming packets and wills survive a close and reopen', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    await p.storeRetained(desired);
    await p.storeRetained(retained('a/b', 'x'));
    await p.storeRetained({ ...retained('a/b', ''), payload: Buffer.alloc(0) }); // an empty retained payload deletes
    await p.addSubscriptions({ id: 'gw-1' }, [
      { topic: 'poste/v1/gw/gw-1/cmd', qos: 1, rh: 0, rap: false, nl: false },
      { topic: 'poste/v1/gw/gw-1/config/desired', qos: 0 },
    ]);
    const cmd = {
      cmd: 'publish',
      topic: 'poste/v1/gw/gw-1/cmd',
      payload: Buffer.from('dim 40'),
      qos: 1,
      retain: false,
      brokerId: 'broker-test',
      brokerCounter: 7,
    };
    await p.outgoingEnqueueCombi([{ clientId: 'gw-1' }], cmd);
    await p.outgoingEnqueueCombi([{ clientId: 'gw-1' }], { ...cmd, payload: Buffer.from('dim 50'), brokerCounter: 8 });
    await p.outgoingEnqueueCombi([{ clientId: 'gw-1' }], { ...cmd, payload: Buffer.from('dim 60'), brokerCounter: 9, qos: 2 });
    await p.outgoingUpdate({ id: 'gw-1' }, { ...cmd, messageId: 12 }); // sent: got a packet id
    await p.outgoingUpdate({ id: 'gw-1' }, { ...cmd, brokerCounter: 9, messageId: 13 });
    await p.outgoingUpdate({ id: 'gw-1' }, { cmd: 'pubrel', messageId: 13 }); // QoS 2: PUBREC'd, PUBREL replaces it
    await p.incomingStorePacket(
      { id: 'gw-2' },
      { cmd: 'publish', topic: 'poste/v1/gw/gw-2/state', payload: Buffer.from('q2'), qos: 2, messageId: 5 },
    );
    await p.putWill({ id: 'gw-1' }, { topic: 'poste/v1/gw/gw-1/status', payload: Buffer.from('offline'), qos: 1, retain: true });
    await p.destroy();

    const q = await openPersistence(dir, {}, 'broker-after-restart');
    const kept = await readAll<StoredPacket>(q.createRetainedStream('#'));
    assert.deepEqual(
      kept.map((k) => [k.topic, text(k)]),
      [[desired.topic, '{"v":1}']],
    );
    assert.ok(Buffer.isBuffer(kept[0]!.payload), 'payloads come back as Buffers');
    assert.deepEqual(
      (await q.subscriptionsByClient({ id: 'gw-1' })).map((s) => [s.topic, s.qos]),
      [
        ['poste/v1/gw/gw-1/cmd', 1],
        ['poste/v1/gw/gw-1/config/desired', 0],
      ],
    );
    assert.deepEqual(await q.subscriptionsByTopic('poste/v1/gw/gw-1/cmd'), [
      { clientId: 'gw-1', topic: 'poste/v1/gw/gw-1/cmd', qos: 1, rh: 0, rap: false, nl: false },
    ]);
    assert.deepEqual(await q.countOffline(), { subsCount: 1, clientsCount: 1 });
    const queue = await readAll<StoredPacket>(q.outgoingStream({ id: 'gw-1' }));
    assert.deepEqual(
      queue.map((x) => [x.cmd, x.messageId, x.payload === undefined ? undefined : text(x)]),
      [
        ['publish', 12, 'dim 40'],
        ['publish', undefined, 'dim 50'],
        ['pubrel', 13, undefined],
      ],
    );
    assert.equal(text(await q.incomingGetPacket({ id: 'gw-2' }, { messageId: 5 })), 'q2');
    // The will belongs to the broker that died: Aedes streams it for publication.
    const wills = await readAll<StoredPacket>(q.streamWill({ 'broker-after-restart': Date.now() }));
    assert.deepEqual(
      wills.map((w) => [w.clientId, w.brokerId, text(w)]),
      [['gw-1', 'broker-test', 'offline']],
    );
    // Discharges survive too: the PUBACK'd packet cleared, the PUBREL'd incoming deleted.
    assert.equal(text((await q.outgoingClearMessageId({ id: 'gw-1' }, { messageId: 12 }))!), 'dim 40');
    await q.incomingDelPacket({ id: 'gw-2' }, { messageId: 5 });
    await q.destroy();
    const r = await openPersistence(dir);
    assert.equal((await readAll(r.outgoingStream({ id: 'gw-1' }))).length, 2);
    await assert.rejects(r.incomingGetPacket({ id: 'gw-2' }, { messageId: 5 }), /no such packet/);
    await r.destroy();
  } finally {
    await remove();
  }
});

test('a torn journal tail is cut with a warning, and what came before it is kept', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    await p.storeRetained(retained('t/1', 'one'));
    await p.storeRetained(retained('t/2', 'two'));
    await p.destroy();
    const [journal] = await journals(dir);
    const torn = '0badf00d {"op":"retain","packet":{"topic":"t/3"';
    await appendFile(join(dir, journal!), torn); // a write cut short by a crash: no line end

    const { logger, lines } = recordingLogger();
    const q = await openPersistence(dir, { logger });
    assert.deepEqual((await readAll<StoredPacket>(q.createRetainedStream('#'))).map(text), ['one', 'two']);
    const warning = lines.find((l) => String(l.msg).includes('cut a torn or corrupt tail'));
    assert.ok(warning, 'the cut is logged');
    assert.equal(warning.level, 40);
    assert.equal(warning.droppedBytes, Buffer.byteLength(torn));
    assert.equal(warning.reason, 'torn record (no line end)');
    await q.destroy();
    // The torn bytes are gone from disk: the next open is clean.
    const again = recordingLogger();
    const r = await openPersistence(dir, { logger: again.logger });
    assert.ok(!again.lines.some((l) => String(l.msg).includes('cut a torn')));
    await r.destroy();
  } finally {
    await remove();
  }
});

test('a corrupt record (checksum mismatch) cuts the journal there', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    for (const n of ['one', 'two', 'three']) await p.storeRetained(retained(`t/${n}`, n));
    await p.destroy();
    const path = join(dir, (await journals(dir))[0]!);
    const data = await readFile(path);
    const second = data.indexOf('t/two'); // a byte inside the second record
    assert.ok(second > 0);
    data[second] = data[second]! ^ 0x01;
    await writeFile(path, data);

    const { logger, lines } = recordingLogger();
    const q = await openPersistence(dir, { logger });
    assert.deepEqual((await readAll<StoredPacket>(q.createRetainedStream('#'))).map(text), ['one']);
    assert.equal(lines.find((l) => String(l.msg).includes('cut a torn'))?.reason, 'checksum mismatch');
    await q.destroy();
  } finally {
    await remove();
  }
});

test('the journal is compacted into the snapshot when it reaches its size cap', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir, { maxJournalBytes: 4096 });
    for (let i = 0; i < 200; i++) await p.storeRetained(retained(`t/${i % 10}`, `value ${i} `.padEnd(100, '.')));
    await p.flush();
    await p.compact(); // waits for a compaction still under way
    const s = p.stats();
    assert.ok(s.compactions >= 5, `compactions: ${s.compactions}`);
    assert.ok(s.journalBytes < 4096, `journal bytes: ${s.journalBytes}`);
    // Absorbed journals are deleted; the current one exists once something was appended to it.
    assert.deepEqual(
      (await journals(dir)).filter((name) => name !== journalPath('', s.journalGeneration)),
      [],
    );
    await p.destroy();

    const q = await openPersistence(dir);
    const values = (await readAll<StoredPacket>(q.createRetainedStream('#'))).map((x) => text(x).split(' ')[1]);
    assert.deepEqual(values.sort(), ['190', '191', '192', '193', '194', '195', '196', '197', '198', '199']);
    await q.destroy();
  } finally {
    await remove();
  }
});

test('a compaction cut short is harmless: absorbed journals are ignored, later ones replayed in order', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    await p.storeRetained(retained('t/kept', 'kept'));
    const { journalGeneration } = p.stats();
    await p.destroy();
    // Before the snapshot's generation: already absorbed (the crash hit between rename and delete).
    await writeFile(journalPath(dir, 0), encodeRecord({ op: 'retain', packet: retained('t/ghost', 'ghost') }));
    // After it: written after a rotation whose snapshot never made it to disk.
    await writeFile(journalPath(dir, journalGeneration + 1), encodeRecord({ op: 'retain', packet: retained('t/later', 'later') }));

    const q = await openPersistence(dir);
    assert.deepEqual((await readAll<StoredPacket>(q.createRetainedStream('#'))).map(text).sort(), ['kept', 'later']);
    assert.deepEqual(await journals(dir), [], 'both were absorbed by the snapshot written at open');
    await q.destroy();
  } finally {
    await remove();
  }
});

test('per-session and total bounds: queue full drops new packets, subscription and retained caps refuse', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  const { logger, lines } = recordingLogger();
  try {
    const p = await openPersistence(dir, { logger, maxQueuedPerClient: 2, maxSubscriptionsPerClient: 2, maxRetainedMessages: 2 });
    const packet = (n: number) => ({ cmd: 'publish', topic: 'q', payload: Buffer.from(`m${n}`), qos: 1, brokerId: 'b', brokerCounter: n });
    for (let n = 1; n <= 4; n++) await p.outgoingEnqueueCombi([{ clientId: 'slow' }, { clientId: 'fast' }], packet(n));
    await p.outgoingClearMessageId({ id: 'fast' }, { messageId: undefined }); // fast drains one
    await p.outgoingEnqueueCombi([{ clientId: 'slow' }, { clientId: 'fast' }], packet(5));
    assert.deepEqual((await readAll<StoredPacket>(p.outgoingStream({ id: 'slow' }))).map(text), ['m1', 'm2']);
    assert.deepEqual((await readAll<StoredPacket>(p.outgoingStream({ id: 'fast' }))).map(text), ['m2', 'm5']);
    assert.equal(p.stats().droppedQueued, 5);
    assert.equal(
      lines.filter((l) => l.msg === 'session queue full: dropping new messages for it' && l.clientId === 'slow').length,
      1,
      'logged once per overflow',
    );

    await p.addSubscriptions({ id: 'c' }, [
      { topic: 'a', qos: 1 },
      { topic: 'b', qos: 1 },
    ]);
    await p.addSubscriptions({ id: 'c' }, [{ topic: 'a', qos: 0 }]); // a change, not a new one
    await assert.rejects(p.addSubscriptions({ id: 'c' }, [{ topic: 'c', qos: 1 }]), /more than 2 subscriptions/);

    await p.storeRetained(retained('r/1', '1'));
    await p.storeRetained(retained('r/2', '2'));
    await p.storeRetained(retained('r/2', '2b')); // replacing is fine
    await assert.rejects(p.storeRetained(retained('r/3', '3')), /retained message limit \(2\) reached/);
    await p.storeRetained({ ...retained('r/1', ''), payload: Buffer.alloc(0) });
    await p.storeRetained(retained('r/3', '3'));
    await p.destroy();
  } finally {
    await remove();
  }
});

test('a retained message stored before its PUBACK is not journaled a second time by Aedes', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    const wire = { ...desired, messageId: 3, dup: false };
    await p.storeRetainedBeforeAck(wire);
    const bytes = p.stats().journalBytes;
    await p.storeRetained({ ...wire, brokerId: 'broker-test', brokerCounter: 1 }); // Aedes' copy: same payload object
    assert.equal(p.stats().journalBytes, bytes);
    await p.storeRetained({ ...wire, payload: Buffer.from('{"v":2}') }); // a new publish is stored
    assert.ok(p.stats().journalBytes > bytes);
    await p.destroy();
  } finally {
    await remove();
  }
});

test('one broker per directory; a lock left by a dead process is taken over', async () => {
  const { dir, remove } = await tempDir('poste-state-');
  try {
    const p = await openPersistence(dir);
    await assert.rejects(openPersistence(dir), /already open in this process/);
    await p.destroy();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(join(dir, 'LOCK'), `${gone}\n`);
    const q = await openPersistence(dir);
    await q.destroy();
  } finally {
    await remove();
  }
});

test('options are validated, naming the field', () => {
  assert.throws(() => new FilePersistence({ dir: '', groupCommitMs: -1 }), /invalid file persistence options: dir: .*; groupCommitMs: /);
});
