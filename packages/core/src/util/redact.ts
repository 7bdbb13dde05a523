/**
 * Credentials out of any text a person or a log will see: the one place secrets are redacted.
 *
 * - user info of anything URL-shaped, parseable or not (`redis://:pw@host`, `redis:/:pw@host`,
 *   `http://key:secret@minio:9000`): the part before `@` becomes `***`;
 * - query parameters whose name says secret (`X-Amz-Signature`, `X-Amz-Credential`, `token`,
 *   `password`, `secret`, `key`): the value becomes `***`.
 * Messages stay readable: scheme, host, path and every other character are kept.
 */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/{0,3})([^\s/@"'<>]+)@/gi;
const SECRET_QUERY_VALUE = /([?&][^=&\s"'<>]*(?:secret|token|password|passwd|signature|credential|key)[^=&\s"'<>]*=)[^&\s"'<>]+/gi;

export function redactSecrets(text: string): string {
  return text.replace(USER_INFO, '$1***@').replace(SECRET_QUERY_VALUE, '$1***');
}
