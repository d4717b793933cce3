// The Lambda entry: `index.handler` in the deployment package.
import { createLambdaHandler } from './handler.js';

export const handler = createLambdaHandler();
