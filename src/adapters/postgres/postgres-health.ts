import type { PgSql } from "./database.js";

/** A cheap round trip that fails within a second when PostgreSQL is gone. */
export async function pingPostgres(sql: PgSql): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`SELECT 1`,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer within 1 s")), 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The server's version string (`server_version`, e.g. `16.4`), or undefined when it did not say. */
export async function postgresServerVersion(sql: PgSql): Promise<string | undefined> {
  const [row] = await sql<{ v: string }[]>`SELECT current_setting(${"server_version"}) AS v`;
  return row?.v;
}
