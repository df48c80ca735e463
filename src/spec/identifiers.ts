/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/** Byte length of a name in UTF-8, the unit PostgreSQL counts identifiers in. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** A name quoted only when PostgreSQL needs it quoted, for messages people read: `users`, `"My Table"`. */
export function displayIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table.column` for messages, each part quoted only when needed. */
export function displayColumn(schema: string, table: string, column?: string): string {
  return [schema, table, ...(column === undefined ? [] : [column])].map(displayIdentifier).join('.');
}
