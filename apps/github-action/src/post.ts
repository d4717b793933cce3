import { post } from './cleanup.js';

// The post step's entry point (runs.post): cleanup and a report of jobs still running.
await post();
