// The process a local Lambda function runs in. One runner serves one function and handles one invocation at a
// time, like a Lambda execution environment: the parent (lambda/pool.ts) forks it, keeps it warm between
// invocations and kills it on timeout. Plain .mjs so that it runs under Node without a TypeScript loader, both
// from the sources and from the published package (which ships `src`).
import { pathToFileURL } from 'node:url';

const [modulePath, exportName] = process.argv.slice(2);
let handlerPromise;

/** Loads the handler once per process: module state survives between invocations, as in a warm sandbox. */
function loadHandler() {
  handlerPromise ??= import(pathToFileURL(modulePath).href).then(
    (mod) => {
      const fn = mod[exportName] ?? mod.default?.[exportName];
      if (typeof fn !== 'function') {
        throw lambdaError(
          'Runtime.HandlerNotFound',
          `${modulePath}.${exportName} is undefined or not exported`,
        );
      }
      return fn;
    },
    (err) => {
      throw lambdaError('Runtime.ImportModuleError', `Error: ${err?.message ?? String(err)}`, err?.stack);
    },
  );
  return handlerPromise;
}

function lambdaError(errorType, errorMessage, stack) {
  const err = new Error(errorMessage);
  err.lambdaShape = { errorType, errorMessage, trace: splitStack(stack ?? err.stack) };
  return err;
}

function splitStack(stack) {
  return typeof stack === 'string' ? stack.split('\n') : [];
}

/** Lambda's error shape for a thrown value: the error's name as errorType, its message and stack lines. */
function toErrorShape(err) {
  if (err?.lambdaShape) return err.lambdaShape;
  if (err instanceof Error) {
    return { errorType: err.name || 'Error', errorMessage: err.message, trace: splitStack(err.stack) };
  }
  return {
    errorType: typeof err,
    errorMessage: typeof err === 'string' ? err : JSON.stringify(err),
    trace: [],
  };
}

function makeContext(msg) {
  return {
    functionName: msg.context.functionName,
    functionVersion: msg.context.functionVersion,
    invokedFunctionArn: msg.context.invokedFunctionArn,
    memoryLimitInMB: String(msg.context.memoryLimitInMB),
    awsRequestId: msg.context.awsRequestId,
    logGroupName: msg.context.logGroupName,
    logStreamName: msg.context.logStreamName,
    clientContext: msg.context.clientContext,
    identity: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
  };
}

async function invoke(msg) {
  const handler = await loadHandler();
  const context = makeContext(msg);
  // Callback-style handlers (three parameters) are still accepted by the nodejs20.x/22.x runtimes.
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const cb = (err, value) => (err ? reject(err) : resolve(value));
      const maybe = handler(msg.event, context, cb);
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return handler(msg.event, context);
}

process.on('message', async (msg) => {
  if (msg?.type !== 'invoke') return;
  try {
    const value = await invoke(msg);
    // Lambda serialises the result with JSON.stringify; `undefined` becomes `null`.
    const payload = JSON.stringify(value === undefined ? null : value);
    process.send({ type: 'result', requestId: msg.requestId, ok: true, payload });
  } catch (err) {
    console.error(`${new Date().toISOString()}\t${msg.requestId}\tERROR\t${err?.stack ?? err}`);
    process.send({ type: 'result', requestId: msg.requestId, ok: false, error: toErrorShape(err) });
  }
});

// An unhandled rejection or exception outside the handler's promise ends the sandbox, as on Lambda.
process.on('uncaughtException', (err) => {
  process.send?.({ type: 'crash', error: toErrorShape(err) }, () => process.exit(1));
});
process.on('unhandledRejection', (reason) => {
  process.send?.({ type: 'crash', error: toErrorShape(reason) }, () => process.exit(1));
});

process.send({ type: 'ready' });
