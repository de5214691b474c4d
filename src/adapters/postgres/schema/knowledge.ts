/** Tables of the knowledge area (migration; see ../migrations.ts). */
export const KNOWLEDGE_SCHEMA = ``;
