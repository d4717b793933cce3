// A plugin the Lambda host does not bundle: an AppConfig extension that refuses configuration without "greeting".
import { definePlugin, reject, z } from '@pipewright/core';

export default definePlugin({
  name: 'greeting-extension',
  version: '1.0.0',
  description: 'Refuses configuration without a greeting.',
  config: z.object({ Word: z.string().optional().meta({ description: 'The word to require.' }) }),
  extension: {
    name: 'greeting-guard',
    handlers: {
      PRE_CREATE_HOSTED_CONFIGURATION_VERSION: (event, ctx) => {
        const word = ctx.params.Word ?? 'greeting';
        const text = event.content.text();
        return text.includes(word) ? undefined : reject(`the configuration has no ${word}`);
      },
    },
  },
});
