/**
 * Source text for the threads' code (and the main thread's batch code): `openZlibBinding(engine)` returns
 * a zlib stream's binding (`handle`, `state`) for synchronous use, the way Node's own `deflateRawSync` and
 * `inflateRawSync` drive it, or undefined (the stream destroyed) when this Node lacks any part of it. The
 * binding is internal to Node, which is why both users check their results against the public functions
 * before relying on it, and fall back to them.
 *
 * `handle.writeSync(flush, input, inOff, inLen, output, outOff, outLen)` runs zlib once; `state` then holds
 * the output and input left unused, and `handle.reset()` makes the stream ready for the next file.
 */
export const ZLIB_BINDING_SOURCE = `
function openZlibBinding(engine) {
  const handle = engine._handle;
  const state = engine._writeState;
  if (
    !handle ||
    typeof handle.writeSync !== 'function' ||
    typeof handle.reset !== 'function' ||
    !(state instanceof Uint32Array) ||
    state.length < 2
  ) {
    engine.destroy();
    return undefined;
  }
  // An error destroys the stream at once (so 'destroyed' is the sign to look at) and emits 'error' a tick
  // later: listened to, or it would end the thread.
  engine.on('error', () => {});
  return { handle, state };
}
`;
