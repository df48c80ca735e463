/**
 * `${NAME}` in fleet.yaml URLs: the only way a URL takes a value from outside the file. Pure.
 * A `$` not starting `${NAME}` is kept as written (percent-encoded passwords never hold a bare `${`).
 */
const VARIABLE = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The text with every `${NAME}` replaced by its value; an unset or empty variable is an error naming it. */
export function expandVariables(
  text: string,
  env: NodeJS.ProcessEnv,
  fail: (message: string, hint: string) => Error,
): string {
  if (/\$\{[^}]*$/.test(text))
    throw fail('has a "${" without its closing "}"', 'write environment variables as ${NAME}');
  return text.replace(VARIABLE, (_match, name: string) => {
    if (!NAME.test(name))
      throw fail(
        `"\${${name}}" is not an environment variable name`,
        'use letters, digits and "_" (not starting with a digit), e.g. ${TENANT_SERVER_URL}',
      );
    const value = env[name];
    if (value === undefined || value === '') {
      throw fail(
        `environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`,
        `set ${name} to the PostgreSQL URL (export ${name}=postgres://user@host:5432/db) before running phasectl`,
      );
    }
    return value;
  });
}

/**
 * Whether a URL as written in the file carries a password: `user:secret@` or `?password=secret`. A password that is
 * wholly one `${VARIABLE}` comes from the environment and is accepted.
 */
export function passwordWrittenIn(raw: string): boolean {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(raw);
  const userinfo = authority?.[1];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const password = colon >= 0 ? userinfo.slice(colon + 1) : '';
    if (password !== '' && !isOneVariable(password)) return true;
  }
  const query = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '';
  for (const part of query.split('&')) {
    const [key, value = ''] = part.split('=');
    if (key?.toLowerCase() === 'password' && value !== '' && !isOneVariable(value)) return true;
  }
  return false;
}

function isOneVariable(text: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text);
}
