import { Type } from "typebox";

/**
 * The body of `POST /mcp`: one JSON-RPC 2.0 message (a request, a notification, or a response
 * to the server). Only the envelope is checked here; the MCP SDK validates each method's params.
 */
export const McpMessage = Type.Object(
  {
    jsonrpc: Type.Literal("2.0"),
    id: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Integer()])),
    method: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    params: Type.Optional(Type.Object({}, { additionalProperties: true })),
    result: Type.Optional(Type.Object({}, { additionalProperties: true })),
    error: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false, description: "A JSON-RPC 2.0 message of the Model Context Protocol (no batches)" },
);

/** An answer of `/mcp`: a JSON-RPC response, or (with `Accept: text/event-stream`) an SSE stream of them. */
export const McpAnswer = Type.Object({}, { additionalProperties: true, description: "JSON-RPC 2.0 response (or an SSE stream)" });

/** The query of `/mcp`: the credential, for hosts that can only be given a URL (as the socket's `?token=`). */
export const McpQuery = Type.Object(
  {
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "API key or session token (instead of Authorization)" })),
  },
  { additionalProperties: false },
);
