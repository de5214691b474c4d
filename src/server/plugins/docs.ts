import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/**
 * OpenAPI 3 built from the same TypeBox schemas that validate requests, at `/docs/json`,
 * with Swagger UI at `/docs` (assets served from the installed package; nothing fetched).
 */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Styx",
        version,
        description:
          "Knowledge relay and persistence for fleets of autonomous agents. Errors: `{ error: { code, message, request_id, details? } }`.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "API key, wallet session token or (admin routes) the admin token" },
        },
      },
    },
    transform: ({ schema, route }) => {
      const auth = (route.config as { auth?: string } | undefined)?.auth ?? "user";
      const s = { ...(schema as Record<string, unknown>) };
      if (auth !== "public") s.security = [{ bearer: [] }];
      return { schema: s as typeof schema, url: route.url };
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list" } });
}
