import { createHash } from 'node:crypto';

/** sha256 (hex) of a file's text, recorded by the runner to detect edited migrations. */
export function checksum(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}
