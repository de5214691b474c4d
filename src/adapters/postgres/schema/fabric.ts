/** Tables of the fabric area (migration; see ../migrations.ts). */
export const FABRIC_SCHEMA = ``;
