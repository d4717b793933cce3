/** State the main step saves (core.saveState) and the post step reads (core.getState). */
export const STATE = { workspace: 'pipewright-workspace', active: 'pipewright-active' } as const;
