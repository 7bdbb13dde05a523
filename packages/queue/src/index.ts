export { QUEUE_NAMES, STAGES, DEFAULT_QUEUE_PREFIX, assertBuildId, jobIdFor, newBuildId, type StageName } from './topology.js';
export { ReindexKeys, SCHEDULE_QUEUE, type ParsedJobId } from './key-space.js';
export { JobDataError, parseJobData, type JobDataByStage, type MergeJobData, type PublishJobData, type ShardJobData, type TrainJobData } from './payloads.js';
export { RedisUnavailableError, assertRedisReachable, createRedis, redactRedisUrl, redisOptionsFromUrl, type RedisConnectionOptions } from './redis.js';
export { startEmbeddedRedis, type EmbeddedRedis, type EmbeddedRedisOptions } from './embedded-redis.js';
