import { redactRedisUrl } from '@reindex/queue';

/** A store or catalogue URL as shown in pages and logs: no user info, no query string. */
export function redactUrl(url: string): string {
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return redactRedisUrl(url);
  try {
    const u = new URL(url);
    if (u.protocol === 'file:') return url;
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return url.includes('@') || url.includes('?') ? '<redacted url>' : url;
  }
}
