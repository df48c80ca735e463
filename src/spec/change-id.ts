/** The one spelling of a change id: lower-case letters, digits and `-`, starting with a letter or digit. */
export const CHANGE_ID = '[a-z0-9][a-z0-9-]*';

/** A whole string that is a change id. */
export const CHANGE_ID_PATTERN = new RegExp(`^${CHANGE_ID}$`);

/** Change ids become part of file, function and trigger names: kept well below the 63-byte identifier limit. */
export const MAX_CHANGE_ID_LENGTH = 40;
