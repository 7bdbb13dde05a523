// Docker HEALTHCHECK for every reindex image: GET $REINDEX_HEALTH_URL (default the worker's
// http://127.0.0.1:9464/healthz), healthy on a 2xx answer within 4 s. REINDEX_HEALTH_URL=none
// turns the check off (the one-shot coordinator CLI serves no HTTP).
const url = process.env.REINDEX_HEALTH_URL ?? 'http://127.0.0.1:9464/healthz';
if (url === 'none') process.exit(0);
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
