// The shell plugin's action type id with one more property: what a forgotten version bump looks like.
import { definePlugin, z } from '@pipewright/core';

export default definePlugin({
  name: 'shell-changed',
  version: '1.0.0',
  description: 'Same id as Pipewright-Shell 1, different definition.',
  config: z.object({ Command: z.string().meta({ description: 'changed' }) }),
  action: { category: 'Build', provider: 'Pipewright-Shell', version: '1', run() {} },
});
