/** Tables of the identity area (migration; see ../migrations.ts). */
export const IDENTITY_SCHEMA = ``;
