// mqtt-packet (the wire codec of the LAN endpoint and of MQTT.js on the uplink) fills a table of
// 65,536 two-byte Buffers, one per packet id, on its first write: 6 MB of V8 heap (65,536 Buffer
// objects) to save one 2-byte allocation per packet — a tenth of what a small gateway can give
// the whole agent. Writing ids on the fly costs nothing measurable at a gateway's packet rates
// (test/bench/gateway-latency.bench.ts). The switch is process-wide and must be thrown before
// the first packet is written, so the agent's entry module imports this one first.
import mqttPacket from 'mqtt-packet';

mqttPacket.writeToStream.cacheNumbers = false;
