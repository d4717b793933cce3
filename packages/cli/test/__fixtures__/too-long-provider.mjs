import { definePlugin, z } from '@pipewright/core';

export default definePlugin({
  name: 'too-long',
  version: '1.0.0',
  description: 'A provider name past the 35 characters AWS allows.',
  config: z.object({}),
  action: { category: 'Build', provider: 'A-Provider-Name-Far-Longer-Than-Allowed', version: '1', run() {} },
});
