// The agent drives the plans, the simulated AP obeys them: a simulated OpenWrt AP (simulators'
// device fleet, real MQTT session on the agent's LAN endpoint) reports its traffic, the agent's
// bandwidth extension plans from it and sends `bandwidthPlan` commands, and the AP serves its
// classes under the plan it was sent — here a ceded share (3 Mbit/s, from the agent's settings)
// smaller than the AP's own boot plan would allow (6 Mbit/s), so obeying is visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startAgent } from '@poste/agent';
import { DeviceFleet, type DeviceSpec } from '@poste/simulators';
import { freePort, waitFor } from './harness/free-port';

const T0 = Date.UTC(2024, 5, 10, 19, 0); // evening: households and public both busy

const AP: DeviceSpec = {
  kind: 'ap',
  id: 'ap-1',
  municipality: 'm1',
  gateway: 'gw-bw-sim',
  model: 'OpenWrt AP',
  firmware: '23.05',
  lat: -23.5,
  lon: -46.6,
  seed: 7,
  capacityKbps: 20_000,
  householdReserveKbps: 10_000,
  publicCapKbps: 6_000,
  peakDemandKbps: { household: 16_000, telemedicine: 1_500, public: 9_000 },
  peakClients: { household: 4, telemedicine: 1, public: 12 },
  utcOffsetMinutes: 0,
};

test('bandwidth extension + simulated AP: the AP serves under the plan the agent sends, not one of its own', async () => {
  let now = T0;
  const clock = { now: () => now };
  const agent = await startAgent({
    gatewayId: 'gw-bw-sim',
    north: { url: `mqtt://127.0.0.1:${await freePort()}` }, // uplink down: the gateway plans on its own
    local: { port: 0 },
    clock,
    logger: pino({ level: 'silent' }),
    dimming: { enabled: false },
    bandwidth: { tickIntervalMs: 50, aps: { 'ap-1': { householdReserveKbps: 12_000, publicCapKbps: 3_000 } } },
  });
  const fleet = new DeviceFleet({ devices: [AP], url: `mqtt://127.0.0.1:${agent.localPort}`, clock, stepS: 10, reportIntervalS: 60 });
  const sim = fleet.engine.ap('ap-1');
  try {
    assert.equal(sim.model.plan.publicCapKbps, 6_000, 'boot plan: the AP configuration');
    await fleet.start();
    await waitFor('AP born', () => agent.devices().some((d) => d.id === 'ap-1' && d.status === 'online'));
    // Three sim minutes: two readings give the first served rates.
    for (let m = 1; m <= 3; m++) {
      now = T0 + m * 60_000;
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor('plan applied by the AP', () => sim.model.plansApplied >= 1, 10_000);
    const stats = agent.stats().extensions.bandwidth as { done: number; rejected: number };
    assert.ok(stats.done >= 1);
    assert.equal(stats.rejected, 0);
    assert.equal(sim.model.plan.publicCapKbps, 3_000, 'the ceded share the agent was told, not the AP’s own 6,000');
    assert.ok(sim.model.plan.household.rateKbps >= 12_000, 'the reserve guaranteed');
    // From now on the AP serves under that plan.
    for (let m = 4; m <= 8; m++) {
      now = T0 + m * 60_000;
      await new Promise((r) => setTimeout(r, 100));
      const s = sim.model.servedKbps;
      assert.ok(s.telemedicine + s.public <= 3_000 + 1e-6, `shared traffic ${s.telemedicine + s.public} kbit/s within the plan's 3,000`);
      assert.ok(s.household + s.telemedicine + s.public <= 20_000 + 1e-6);
    }
    assert.ok(sim.model.demandKbps.public > 3_000, 'public wanted more than it was given: the cap is the plan, not a lack of demand');
  } finally {
    fleet.kill();
    await agent.stop();
  }
});
