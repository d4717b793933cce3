export { type ArtifactClientOptions, type ArtifactCredentials, createArtifactClient } from './client.js';
export type { ArtifactFormat } from './detect.js';
export { type DownloadOptions, type DownloadResult, downloadArtifact } from './download.js';
export { ArtifactError, type ArtifactErrorCode, isArtifactError } from './errors.js';
export { DEFAULT_LIMITS, type ExtractLimits } from './limits.js';
export type { S3Location } from './location.js';
export { skipTurbofan } from './turbofan.js';
export { type UploadOptions, type UploadResult, uploadArtifact } from './upload.js';
export { limitYoungGeneration } from './young-gc.js';
