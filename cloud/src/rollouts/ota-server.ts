// The cloud side of an OTA transfer: publishes a gateway's job (retained, so an agent that was
// offline finds it on reconnect), answers each chunk request with that chunk (pull: the agent
// decides the pace and where to resume), and hands every status to whoever tracks outcomes.
import { createHash } from 'node:crypto';
import {
  chunkCount,
  encode,
  type FirmwareManifest,
  type OtaJob,
  OtaStatusSchema,
  type OtaStatus,
  parseTopic,
  topic,
  topicFilter,
} from '@poste/protocol';
import type { Logger } from 'pino';
import type { OtaBus } from './ota-bus';

export interface ServedImage {
  manifest: FirmwareManifest;
  image: Buffer;
}

export interface OtaServerOptions {
  bus: OtaBus;
  log: Logger;
  /** the image of a job, or undefined for a job this server does not know (another cloud's) */
  imageOf(jobId: string): ServedImage | undefined;
  /** whether chunks of this job may be served now (false while its rollout is paused or aborted) */
  serving(jobId: string): boolean;
  onStatus(gateway: string, status: OtaStatus): void;
  /** a chunk was published (for progress and tests) */
  onChunkServed?(gateway: string, jobId: string, index: number): void;
}

export interface OtaServer {
  publishJob(gateway: string, job: OtaJob): Promise<void>;
  /** clears the retained job of a gateway (abort) */
  clearJob(gateway: string): Promise<void>;
  stats(): { chunksServed: number; statuses: number; refusedStatuses: number };
  close(): void;
}

export async function startOtaServer(o: OtaServerOptions): Promise<OtaServer> {
  const stats = { chunksServed: 0, statuses: 0, refusedStatuses: 0 };
  const unsubscribe = await o.bus.subscribe(topicFilter('otaStatus'), (t, payload) => {
    const parsed = parseTopic(t);
    if (parsed?.kind !== 'otaStatus') return;
    let status: OtaStatus;
    try {
      status = OtaStatusSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (err) {
      stats.refusedStatuses++;
      o.log.warn({ topic: t, err: (err as Error).message }, 'ota: status refused');
      return;
    }
    stats.statuses++;
    const gateway = parsed.params.gateway;
    if (status.target === undefined && status.phase === 'downloading' && status.next !== undefined) {
      serveChunk(gateway, status.jobId, status.next);
      return;
    }
    o.onStatus(gateway, status);
  });

  function serveChunk(gateway: string, jobId: string, index: number): void {
    const served = o.imageOf(jobId);
    if (!served || !o.serving(jobId)) return;
    if (index >= chunkCount(served.manifest)) return;
    const size = served.manifest.chunkSize;
    const data = served.image.subarray(index * size, (index + 1) * size);
    const chunk = { v: 1 as const, jobId, index, data: data.toString('base64'), sha256: createHash('sha256').update(data).digest('hex') };
    stats.chunksServed++;
    o.onChunkServed?.(gateway, jobId, index);
    o.bus
      .publish(topic('otaChunk', { gateway }), encode(chunk), false)
      .catch((err: Error) => o.log.warn({ err: err.message }, 'ota: chunk publish failed'));
  }

  return {
    publishJob: (gateway, job) => o.bus.publish(topic('otaJob', { gateway }), encode(job), true),
    clearJob: (gateway) => o.bus.publish(topic('otaJob', { gateway }), Buffer.alloc(0), true),
    stats: () => ({ ...stats }),
    close: unsubscribe,
  };
}
