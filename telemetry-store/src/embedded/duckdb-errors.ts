import { StoreWriteError } from '../errors';

/** What a DuckDB error means for a write. */
export type DuckDBErrorClass =
  /** the disk or the file is the problem (full, I/O error, locked, a write conflict): try again later */
  | 'retryable'
  /** DuckDB invalidated the database after a fatal error (a checkpoint on a full disk): reopen, then try again */
  | 'reopen'
  /** the statement itself is wrong for this data (conversion, constraint, binder …): it fails again */
  | 'permanent';

// DuckDB prefixes its messages with the exception type ("IO Error: …", "Conversion Error: …").
const REOPEN = /^FATAL Error|database has been invalidated/i;
const PERMANENT =
  /^(Conversion|Constraint|Invalid Input|Binder|Catalog|Parser|Mismatch Type|Out of Range|Invalid type|Not implemented) Error/i;

/**
 * Classifies an error DuckDB threw during a write. Disk full, I/O, lock and commit failures are
 * retryable (the points are fine, the disk is not); a fatal error that invalidated the database is
 * retryable after a reopen; conversion/constraint/binder errors are permanent. Anything not
 * recognised is retryable: a retry costs time, a wrong "permanent" would lose data.
 */
export function classifyDuckDBError(err: unknown): DuckDBErrorClass {
  const message = err instanceof Error ? err.message : String(err);
  if (REOPEN.test(message)) return 'reopen';
  // The type prefix first: a conversion error may quote a value that happens to read "I/O error".
  if (PERMANENT.test(message)) return 'permanent';
  // IO Error, "No space left on device", "Could not set lock", TransactionContext "Failed to
  // commit", Out of Memory, Interrupt — and whatever else DuckDB may say.
  return 'retryable';
}

/** The StoreWriteError for a DuckDB write failure. */
export function duckDBWriteError(err: unknown): StoreWriteError {
  if (err instanceof StoreWriteError) return err;
  const cls = classifyDuckDBError(err);
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new StoreWriteError(`embedded write failed (${cls}): ${message}`, cls !== 'permanent', 0, { cause: err });
}
