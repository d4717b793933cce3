// Imported first by index.ts, so it runs before any other module loads: loading the AWS SDK grows V8's
// young generation and it stays grown; limited now, an artifact transfer peaks some 10 MiB lower. Turbofan
// is left out before anything gets hot (Node 24, the runner's: 8-10 MiB less, no CPU time lost).
import { limitYoungGeneration, skipTurbofan } from '@pipewright/artifacts/process-memory';

limitYoungGeneration();
skipTurbofan();
