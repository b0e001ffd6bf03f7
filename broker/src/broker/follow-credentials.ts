import type { Logger } from 'pino';
import type { CredentialsStore } from '../credentials/store';
import { watchCredentials, type CredentialsWatch } from '../credentials/watch';
import type { PosteBroker } from './broker';

/**
 * Keeps a running broker on the current credentials file: `poste-broker revoke` disconnects the
 * gateway and refuses its next CONNECT, `rotate` makes the old password fail, `add-gateway` lets a
 * new one in — all without a restart. A file that does not validate is refused, logged with the
 * path and reason of each problem, and the credentials in force are kept.
 * `onReload` lets the caller follow too (ingest's gateway → municipality directory).
 */
export function followCredentialsFile(
  file: string,
  broker: PosteBroker,
  logger: Logger,
  onReload?: (store: CredentialsStore) => void,
): CredentialsWatch {
  return watchCredentials({
    file,
    onReload(store) {
      const disconnected = broker.setCredentials(store);
      broker.metrics.credentialsReloads.inc({ outcome: 'applied' });
      logger.info(
        { file, gateways: store.data.gateways.length, services: store.data.services.length, disconnected },
        'credentials reloaded',
      );
      onReload?.(store);
    },
    onRefused(err) {
      broker.metrics.credentialsReloads.inc({ outcome: 'refused' });
      logger.error({ file, err: err.message }, 'credentials file change refused; the previous credentials stay in force');
    },
  });
}
