// How the cloud's OTA server reaches gateways: the broker running in the same process (aedes), so
// jobs and chunks need no login of their own and gateways' statuses arrive without a round trip.
import type { PosteBroker } from '@poste/broker';

export interface OtaBus {
  publish(topic: string, payload: Buffer, retain: boolean): Promise<void>;
  /** resolves once subscribed; the returned function unsubscribes */
  subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<() => void>;
}

export function inProcessBus(broker: PosteBroker): OtaBus {
  const aedes = broker.aedes;
  return {
    publish: (topic, payload, retain) =>
      new Promise((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err) => (err ? reject(err) : resolve()));
      }),
    subscribe: (filter, onMessage) =>
      new Promise((resolve) => {
        const deliver = (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
          onMessage(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
          cb();
        };
        aedes.subscribe(filter, deliver, () => resolve(() => aedes.unsubscribe(filter, deliver, () => {})));
      }),
  };
}
