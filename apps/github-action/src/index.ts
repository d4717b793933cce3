import './process-memory-first.js';
import { run } from './main.js';

// The action's entry point: everything else lives in main.ts so that tests can call run().
await run();
