// The agent's dimming runner against the simulators' device fleet (real MQTT sessions on the agent's
// LAN endpoint, controllers with their own fallback programs), with the uplink down throughout:
// the schedule reaches the controllers, and when the agent dies they return to their own program once
// the lease ends instead of staying at the scheduler's last level (docs/architecture.md, fail-safe: dimming leases).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startAgent } from '@poste/agent';
import { DeviceFleet, fallbackProgram, type DeviceSpec } from '@poste/simulators';
import { freePort, waitFor } from './harness/free-port';

const T0 = Date.UTC(2024, 5, 10, 21, 50); // 21:50 UTC: scheduler says 70, the controllers' own program 100
const LEASE = 15 * 60_000;

const SCHEDULER = {
  site: { timeZone: 'UTC', latitude: -23.5, longitude: -46.6 },
  programs: [
    {
      id: 'night',
      steps: [
        { kind: 'fixed', time: '18:00', level: 70 },
        { kind: 'fixed', time: '22:00', level: 30 },
        { kind: 'fixed', time: '06:00', level: 0 },
      ],
    },
  ],
  calendars: [{ id: 'cal', rules: [], defaultProgram: 'night' }],
  groups: [{ id: 'main-st', calendar: 'cal' }],
};

function luminaires(n: number): DeviceSpec[] {
  return Array.from({ length: n }, (_, k) => ({
    kind: 'luminaire' as const,
    id: `lum-${k}`,
    municipality: 'm1',
    gateway: 'gw-fleet',
    group: 'main-st',
    model: 'L60',
    firmware: '1.0.0',
    nominalPowerW: 60,
    baselineLampW: 170,
    baselineLamp: 'HPS 150 W',
    supplyVoltageV: 227,
    lat: -23.5,
    lon: -46.6,
    program: fallbackProgram(0), // on 18:00 at 100, 50 from midnight, off 06:00 (UTC)
    seed: k + 1,
  }));
}

test('agent + device fleet, uplink down: controllers follow the schedule, and fall back to their own program when the agent dies', async () => {
  let now = T0;
  const clock = { now: () => now };
  const dataDir = mkdtempSync(join(tmpdir(), 'poste-agent-dimming-'));
  writeFileSync(
    join(dataDir, 'agent-state.json'),
    JSON.stringify({ birthSeq: 0, config: { version: 1, config: { scheduler: SCHEDULER } } }),
  );
  const agent = await startAgent({
    gatewayId: 'gw-fleet',
    north: { url: `mqtt://127.0.0.1:${await freePort()}` }, // nobody listens: uplink down
    local: { port: 0 },
    clock,
    logger: pino({ level: 'silent' }),
    dataDir,
    dimming: { tickIntervalMs: 20, leaseMs: LEASE },
  });
  const devices = luminaires(4);
  const fleet = new DeviceFleet({ devices, url: `mqtt://127.0.0.1:${agent.localPort}`, clock, stepS: 10, reportIntervalS: 60 });
  const levelOf = (id: string, at = now): number => fleet.engine.luminaire(id).controller.levelAt(at);
  const everyLevel = (level: number, at = now): boolean => devices.every((d) => levelOf(d.id, at) === level);
  try {
    assert.equal(everyLevel(100), true, 'before any command the controllers run their own program');
    await fleet.start();
    await waitFor('schedule applied', () => everyLevel(70));
    assert.equal(agent.northConnected, false);

    now = T0 + 10 * 60_000; // 22:00 step
    await waitFor('22:00 step', () => everyLevel(30));
    await waitFor('acks', () => agent.stats().extensions.dimming?.acked === 8);
    const stepAt = now;

    // The agent dies (no graceful anything). The last lease runs out; then the controllers' own program.
    await agent.stop({ abrupt: true });
    assert.equal(everyLevel(30, stepAt + LEASE - 1), true, 'the scheduler level holds for its lease');
    assert.equal(everyLevel(100, stepAt + LEASE + 1), true, 'then the local program (100 before midnight), never dark');
    assert.equal(everyLevel(50, Date.UTC(2024, 5, 11, 1, 0)), true, 'and it keeps running it through the night');
  } finally {
    fleet.kill();
    await agent.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
