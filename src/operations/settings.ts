/** Timeouts written into every generated file. */
export interface GenerationSettings {
  /** How long a statement may wait for a lock before it gives up (and the runner retries). */
  lockTimeout: string;
  /** Cap for ordinary statements. */
  statementTimeout: string;
  /** Cap for statements that scan the table (VALIDATE, backfill and verify batches). */
  scanStatementTimeout: string;
  /** A folder of templates that override the package's own, file by file. */
  templatesDir?: string;
}

export const defaultGenerationSettings: GenerationSettings = {
  lockTimeout: '2s',
  statementTimeout: '30s',
  scanStatementTimeout: '6h',
};
