/** Tables of the coordination area (migration; see ../migrations.ts). */
export const COORDINATION_SCHEMA = ``;
