// Imported first by index.ts, so it runs before any other module loads: loading the AWS SDK grows V8's
// young generation and it stays grown; limited now, an artifact transfer peaks some 10 MiB lower.
import { limitYoungGeneration } from '@pipewright/artifacts/young-generation';

limitYoungGeneration();
