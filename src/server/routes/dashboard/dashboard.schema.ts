import { ErrorBody } from "../../../protocol/common.js";
import { DashboardAnswer, DashboardAsset, DashboardQuery } from "../../../protocol/dashboard.js";

/** Route schemas of the admin dashboard: the page and its assets (public), the data (admin token). */

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** `GET /v1/admin/dashboard`. */
export const dashboardDataSchema = {
  tags: ["admin"],
  summary:
    "Dashboard snapshot: event count, sockets, pheromone heat map, pulse, recent deaths, active keys, revenue and pending settlement",
  querystring: DashboardQuery,
  response: { 200: DashboardAnswer, ...errors },
};

/** A static file of the page; it holds no data (that needs the admin token). */
export function assetSchema(summary: string, type: string) {
  return { tags: ["admin"], summary, response: { 200: { description: "The file", content: { [type]: { schema: DashboardAsset } } } } };
}
