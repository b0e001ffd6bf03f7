import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerOrder, brokerUrls } from './broker-order';

const NODES = ['mqtt://a:1883', 'mqtt://b:1883', 'mqtt://c:1883'];

test('each gateway tries every node once, in an order fixed by its id', () => {
  for (const id of ['gw-1', 'gw-2', 'cps-0001']) {
    const order = brokerOrder(id, NODES);
    assert.deepEqual([...order].sort(), NODES);
    assert.deepEqual(brokerOrder(id, NODES), order, 'same id, same order');
  }
});

test('a city spreads over the nodes, and a dead node’s gateways move to different survivors', () => {
  const first = new Map<string, number>();
  const afterA = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const order = brokerOrder(`gw-${i}`, NODES);
    first.set(order[0]!, (first.get(order[0]!) ?? 0) + 1);
    if (order[0] === NODES[0]) afterA.set(order[1]!, (afterA.get(order[1]!) ?? 0) + 1);
  }
  for (const node of NODES) assert.ok((first.get(node) ?? 0) > 150, `node ${node} starts with ${first.get(node)} of 600 gateways`);
  assert.ok(
    (afterA.get(NODES[1]!) ?? 0) > 50 && (afterA.get(NODES[2]!) ?? 0) > 50,
    `node a's gateways move to both others: ${[...afterA]}`,
  );
});

test('one URL stays one URL; a list loses its duplicates', () => {
  assert.deepEqual(brokerUrls('mqtt://a:1'), ['mqtt://a:1']);
  assert.deepEqual(brokerUrls(['mqtt://a:1', 'mqtt://b:1', 'mqtt://a:1']), ['mqtt://a:1', 'mqtt://b:1']);
  assert.deepEqual(brokerOrder('gw', ['mqtt://a:1']), ['mqtt://a:1']);
});
