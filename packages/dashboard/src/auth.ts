import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { isLoopbackHost } from './options.js';

/** Header every state-changing request must carry: a cross-site form or fetch cannot set it without a CORS preflight, which the dashboard never grants. */
export const ACTION_HEADER = 'x-reindex-action';

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token a request presents: `Authorization: Bearer <t>` or basic auth with `<t>` as password. */
export function presentedToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * Everything but `/healthz` needs the token when one is set. Browsers get a basic-auth prompt
 * (any user name, the token as password) so the page and its fetches work without extra code.
 */
export function requireToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token || req.path === '/healthz') return next();
    const given = presentedToken(req);
    if (given !== undefined && safeEqual(given, token)) return next();
    res.setHeader('www-authenticate', 'Basic realm="reindex-dashboard", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized: send the dashboard token (Bearer, or basic auth password)' });
  };
}

/**
 * On a loopback bind, only loopback Host headers are served: a page on another site cannot
 * reach the dashboard through DNS rebinding.
 */
export function requireLoopbackHostHeader(boundToLoopback: boolean) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!boundToLoopback) return next();
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (isLoopbackHost(host)) return next();
    res.status(421).json({ error: `host ${JSON.stringify(host)} is not served on a loopback-bound dashboard` });
  };
}

/**
 * State-changing requests must carry {@link ACTION_HEADER} (CSRF guard), and a browser's
 * Origin, when sent, must be this dashboard's own (the Host it was reached at).
 */
export function requireActionHeader(req: Request, res: Response, next: NextFunction): void {
  if (req.headers[ACTION_HEADER] !== '1') {
    res.status(403).json({ error: `actions need the ${ACTION_HEADER}: 1 header` });
    return;
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== req.headers.host) {
      res.status(403).json({ error: `actions are accepted from this dashboard's own pages only, not from origin ${JSON.stringify(origin)}` });
      return;
    }
  }
  next();
}
