import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { ErrorBody } from "../../protocol/common.js";

/**
 * OpenAPI 3 built from the same TypeBox schemas that validate requests, at `/docs/json`,
 * with Swagger UI at `/docs` (assets served from the installed package; nothing fetched).
 *
 * Every operation is named (`operationId`, which client generators turn into method names:
 * `operationIdOf`), declares its security (the bearer scheme, or none for a public route), and
 * lists the error envelope for client errors: the document passes Redocly's recommended rules
 * (`.ci/run`).
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
        license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
      },
      // Relative: the document describes the instance that serves it, wherever it is mounted.
      servers: [{ url: "/", description: "This Styx instance" }],
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "API key, wallet session token or (admin routes) the admin token" },
        },
      },
    },
    transform: ({ schema, route }) => {
      const auth = (route.config as { auth?: string } | undefined)?.auth ?? "user";
      const s = { ...(schema as Record<string, unknown>) };
      s.security = auth === "public" ? [] : [{ bearer: [] }];
      const method = Array.isArray(route.method) ? (route.method[0] as string) : route.method;
      s.operationId ??= operationIdOf(method, route.url);
      const responses = (s.response ?? {}) as Record<string, unknown>;
      // Any route can refuse a request (rate limits, malformed input, headers too large): the envelope is the same.
      if (!Object.keys(responses).some((code) => code.startsWith("4"))) s.response = { ...responses, "4xx": CLIENT_ERROR };
      return { schema: s as typeof schema, url: route.url };
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list" } });
}

const CLIENT_ERROR = { ...ErrorBody, description: "Client error: the error envelope (docs/errors.md)" };

/**
 * A stable operation name from the method and the path: the verb, then each path segment in
 * camel case without the `/v1/styx` prefix, parameters as `By<Name>`.
 * `GET /v1/styx/entries/:id` → `getEntriesById`; `PUT /v1/admin/users/:id/usage` → `putAdminUsersByIdUsage`.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split("/")
    .filter((seg, i) => seg !== "" && !(i === 1 && seg === "v1") && !(i === 2 && seg === "styx"))
    .map((seg) => (seg.startsWith(":") ? `By${camel(seg.slice(1))}` : seg === "*" ? "Wildcard" : camel(seg)));
  return method.toLowerCase() + words.join("");
}

/** `golem_id`, `typed-data`, `dashboard.js` → `GolemId`, `TypedData`, `DashboardJs`. */
function camel(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => (w[0] as string).toUpperCase() + w.slice(1))
    .join("");
}
