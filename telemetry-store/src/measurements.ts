import type { Point } from './types';

/**
 * The series key of each measurement (docs/architecture.md, "Storage"): the tags that identify one device's series.
 * Two points with the same measurement, series key and ts are the same point (the later write
 * overwrites), which makes replays idempotent. Other tags (e.g. a luminaire's group) are carried
 * along but do not split the series.
 */
export const SERIES_KEY_TAGS = {
  luminaire: ['municipality', 'gateway', 'luminaire'],
  ap: ['municipality', 'gateway', 'ap'],
  event: ['municipality', 'gateway', 'device', 'type'],
} as const satisfies Record<Point['measurement'], readonly string[]>;

export const MEASUREMENTS = Object.keys(SERIES_KEY_TAGS) as Point['measurement'][];

/** Group a luminaire reports when it has none (the protocol's group is optional). */
export const UNGROUPED = 'ungrouped';
