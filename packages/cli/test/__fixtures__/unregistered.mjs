// An action type no test registers.
import { definePlugin, z } from '@pipewright/core';

export default definePlugin({
  name: 'unregistered',
  version: '1.0.0',
  description: 'Never registered.',
  config: z.object({}),
  action: { category: 'Deploy', provider: 'Never-Registered', version: '1', run() {} },
});
