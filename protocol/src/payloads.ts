import type { z } from 'zod';
import { AckSchema, CommandSchema, DeviceAckSchema, DeviceCommandSchema } from './commands';
import { DesiredConfigSchema, ReportedConfigSchema } from './config';
import { DeviceEventSchema } from './events';
import { DeviceStateSchema, GatewayStateSchema } from './state';
import { LocalTelemetrySchema, TelemetryBatchEnvelopeSchema } from './telemetry';
import { EventBatchEnvelopeSchema } from './events';
import { LocalOtaSchema, LocalOtaStatusSchema, OtaChunkSchema, OtaJobSchema, OtaStatusSchema } from './ota';
import type { TopicKind } from './topics';

/**
 * The typed topic → payload map (Zigbee2MQTT style): the schema that validates each topic's
 * payload. Batch topics map to their envelope; use decodeLuminaireBatch & co. to validate items
 * one by one.
 */
export const PAYLOAD_SCHEMAS = {
  gatewayState: GatewayStateSchema,
  deviceState: DeviceStateSchema,
  luminaireTelemetry: TelemetryBatchEnvelopeSchema,
  apTelemetry: TelemetryBatchEnvelopeSchema,
  events: EventBatchEnvelopeSchema,
  command: CommandSchema,
  ack: AckSchema,
  configDesired: DesiredConfigSchema,
  configReported: ReportedConfigSchema,
  otaJob: OtaJobSchema,
  otaChunk: OtaChunkSchema,
  otaStatus: OtaStatusSchema,
  localDeviceState: DeviceStateSchema,
  localTelemetry: LocalTelemetrySchema,
  localEvent: DeviceEventSchema,
  localCommand: DeviceCommandSchema,
  localAck: DeviceAckSchema,
  localOta: LocalOtaSchema,
  localOtaStatus: LocalOtaStatusSchema,
} as const satisfies Record<TopicKind, z.ZodType>;

export type PayloadOf<K extends TopicKind> = z.output<(typeof PAYLOAD_SCHEMAS)[K]>;
