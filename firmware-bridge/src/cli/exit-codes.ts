// The exit codes of poste-firmware, one per kind of outcome a technician (or a script) must tell
// apart. Documented in firmware-bridge/README.md; keep the two in step.
export const EXIT = {
  ok: 0,
  /** a check failed: signature, hash, key not trusted, family/model, read-back mismatch, gateway not healthy, rollout stopped */
  refused: 1,
  /** wrong command line (UsageError) */
  usage: 2,
  /** a file could not be read or written, or holds something malformed (a key, a manifest that is not JSON) */
  file: 3,
  /** the flash target is wrong (missing, a directory, not a block device or regular file) or too small */
  target: 4,
  /** refused to overwrite: an existing key, a gateway id already registered (without --force) */
  exists: 5,
  /** the broker or the cloud API could not be reached, refused the login, or answered with an error */
  unreachable: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: printed as `poste-firmware: <message>` and turned into its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
