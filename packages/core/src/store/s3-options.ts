/** Static S3 credentials. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of the s3:// object store. */
export interface S3Options {
  /** AWS region. Default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string;
  /** Custom endpoint for S3-protocol servers (MinIO, Ceph, R2, tests), e.g. `http://127.0.0.1:9000`. Default: AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most non-AWS servers. Default: false. */
  forcePathStyle?: boolean;
  /** Static credentials. Default: the AWS SDK default provider chain (env, profile, instance role...). */
  credentials?: S3Credentials;
  /**
   * Multipart part size for putFile/stream uploads. Default 16 MiB. S3 requires >= 5 MiB and at
   * most 10,000 parts, so 16 MiB caps one object at ~156 GiB; larger parts cost more memory
   * (uploadConcurrency parts are buffered at once), smaller ones more requests.
   */
  partSizeBytes?: number;
  /** Files at least this large are uploaded with multipart. Default 64 MiB. */
  multipartThresholdBytes?: number;
  /** Parts uploaded in parallel per multipart upload. Default 4. */
  uploadConcurrency?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). Default 1000. */
  listPageSize?: number;
  /**
   * Attempts per request including the first (the SDK's retry with backoff: 5xx, throttling such
   * as `SlowDown`, connection resets, timeouts). Default 5.
   */
  maxAttempts?: number;
  /**
   * The SDK's retry strategy: `adaptive` (default) also slows this client down when S3 throttles
   * it (a token bucket fed by `SlowDown` answers), so a fleet backs off instead of retrying into
   * the throttle; `standard` retries with backoff only.
   */
  retryMode?: 'standard' | 'adaptive';
  /** TCP connect timeout per attempt. Default 5000 ms: an unreachable endpoint fails fast. */
  connectTimeoutMs?: number;
  /** Socket idle timeout per attempt. Default 120000 ms. */
  requestTimeoutMs?: number;
  /**
   * SDK request/response checksums. Default `WHEN_REQUIRED`: integrity is verified end to end by
   * the sha256 of every file in the manifest, and the SDK's newer default (`WHEN_SUPPORTED`,
   * aws-chunked CRC trailers) is rejected by several S3-compatible servers.
   */
  requestChecksumCalculation?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
}

/** Defaults of {@link S3Options}; the store spreads this constant and the tests check it. */
export const DEFAULT_S3_OPTIONS = {
  forcePathStyle: false,
  partSizeBytes: 16 * 1024 * 1024,
  multipartThresholdBytes: 64 * 1024 * 1024,
  uploadConcurrency: 4,
  listPageSize: 1000,
  maxAttempts: 5,
  retryMode: 'adaptive',
  connectTimeoutMs: 5000,
  requestTimeoutMs: 120_000,
  requestChecksumCalculation: 'WHEN_REQUIRED',
} as const satisfies Required<Omit<S3Options, 'region' | 'endpoint' | 'credentials'>>;

const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

/** Validates S3 options at the edge; `path` prefixes option names in messages (e.g. `s3.`). */
export function validateS3Options(options: S3Options, path = 's3.'): string[] {
  const problems: string[] = [];
  const positiveInt = (name: keyof S3Options, min = 1): void => {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)) {
      problems.push(`${path}${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
  };
  positiveInt('partSizeBytes', MIN_PART_SIZE_BYTES);
  positiveInt('multipartThresholdBytes');
  positiveInt('uploadConcurrency');
  positiveInt('listPageSize');
  positiveInt('maxAttempts');
  positiveInt('connectTimeoutMs');
  positiveInt('requestTimeoutMs');
  if (options.retryMode !== undefined && options.retryMode !== 'standard' && options.retryMode !== 'adaptive') {
    problems.push(`${path}retryMode must be "standard" or "adaptive", got ${JSON.stringify(options.retryMode)}`);
  }
  if (options.listPageSize !== undefined && options.listPageSize > 1000) {
    problems.push(`${path}listPageSize must be <= 1000 (the S3 limit), got ${options.listPageSize}`);
  }
  if (options.endpoint !== undefined) {
    try {
      const url = new URL(options.endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      problems.push(`${path}endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`);
    }
  }
  return problems;
}
