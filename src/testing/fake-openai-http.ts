import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Plumbing shared by the fake OpenAI-protocol servers (embeddings, chat): JSON answers, bodies, a loopback port. */

/** Sends a JSON answer (a string body is sent as is), unless the client is gone. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
}

/** The OpenAI error shape for a request the endpoint refuses. */
export function invalid(res: ServerResponse, message: string, param: string | null = null): void {
  send(res, 400, { error: { message, type: "invalid_request_error", param, code: null } });
}

/** The whole request body as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Listens on a free loopback port; answers the base URL and a close that drops open connections. */
export async function listenOnLoopback(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The route and key checks every fake OpenAI endpoint makes: 404 for another path, 401 (OpenAI's
 * wording) for a wrong bearer key. True when the request may go on.
 */
export function admit(req: IncomingMessage, res: ServerResponse, path: string, apiKey: string | undefined): boolean {
  if (req.method !== "POST" || req.url?.split("?")[0] !== path) {
    send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${req.url}`, type: "invalid_request_error" } });
    return false;
  }
  const auth = req.headers.authorization;
  if (apiKey !== undefined && auth !== `Bearer ${apiKey}`) {
    const sent = auth?.replace(/^Bearer /, "") ?? "";
    const message = `Incorrect API key provided: ${sent}. You can find your API key in your account settings.`;
    send(res, 401, { error: { message, type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    return false;
  }
  return true;
}
