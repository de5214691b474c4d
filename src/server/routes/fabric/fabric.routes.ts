import type { FastifyInstance } from "fastify";
import type { FabricService } from "../../../core/fabric/fabric-service.js";
import type { Golem } from "../../../core/identity/types.js";
import type { Clock } from "../../../core/platform/clock.js";
import { ErrorBody, GolemIdParams, UserIdParams } from "../../../protocol/common.js";
import {
  CladeRegisterBody,
  FleetAggregateView,
  FleetView,
  GolemSnapshotView,
  PeersView,
  PeerView,
  SteerBody,
  SteerView,
} from "../../../protocol/fabric.js";
import { tenantGolem } from "../../context.js";
import { presentAggregate, presentPeer, presentPresence } from "../../presenters/fabric.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const ownUser = [{ from: "params", field: "user_id", kind: "user" }] as const;
const ownGolemParam = [{ from: "params", field: "golem_id", kind: "golem" }] as const;

/** Fleet views from the presence map, golem snapshot, clade registration and peers, steering over HTTP. */
export function fabricRoutes(
  app: FastifyInstance,
  deps: { fabric: FabricService; clock: Clock; online: (golemId: string) => boolean },
): void {
  const { fabric } = deps;

  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/fleet/:user_id",
    {
      config: { golemCredential: "owner-only", tenant: ownUser },
      schema: {
        tags: ["fabric"],
        summary: "The user's golems from their heartbeats",
        params: UserIdParams,
        response: { 200: FleetView, ...errors },
      },
    },
    async (req) => fleetView(deps, req.params.user_id),
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/fleet/:user_id/aggregate",
    {
      config: { golemCredential: "owner-only", tenant: ownUser },
      schema: {
        tags: ["fabric"],
        summary: "Aggregate of the user's fleet (online golems)",
        params: UserIdParams,
        response: { 200: FleetAggregateView, ...errors },
      },
    },
    async (req) => presentAggregate(req.params.user_id, await fabric.aggregate(req.params.user_id)),
  );

  app.get<{ Params: { golem_id: string } }>(
    "/v1/styx/golem/:golem_id/snapshot",
    {
      config: { golemCredential: "own", tenant: ownGolemParam },
      schema: {
        tags: ["fabric"],
        summary: "One golem's identity facts and last heartbeat",
        params: GolemIdParams,
        response: { 200: GolemSnapshotView, ...errors },
      },
    },
    async (req) => golemSnapshot(deps, tenantGolem(req, req.params.golem_id)),
  );

  app.post<{ Body: CladeRegisterBody }>(
    "/v1/styx/clade/register",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem", acts: true }] },
      schema: {
        tags: ["fabric"],
        summary: "Register a golem for clade sync with its siblings",
        body: CladeRegisterBody,
        response: { 200: PeerView, ...errors },
      },
    },
    async (req) => presentPeer(await fabric.register(tenantGolem(req, req.body.golem_id), req.body.domains ?? [])),
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/clade/peers/:user_id",
    {
      // The clade is shared by design (SPEC §3): a golem credential sees its siblings as peers.
      config: { golemCredential: "own", tenant: ownUser },
      schema: {
        tags: ["fabric"],
        summary: "The user's registered clade members",
        params: UserIdParams,
        response: { 200: PeersView, ...errors },
      },
    },
    async (req) => ({ user_id: req.params.user_id, peers: (await fabric.peers(req.params.user_id)).map(presentPeer) }),
  );

  app.post<{ Params: { golem_id: string }; Body: SteerBody }>(
    "/v1/styx/golem/:golem_id/steer",
    {
      config: { golemCredential: "owner-only", tenant: ownGolemParam },
      schema: {
        tags: ["fabric"],
        summary: "Steer one golem (delivered: false when it has no live socket)",
        params: GolemIdParams,
        body: SteerBody,
        response: { 200: SteerView, ...errors },
      },
    },
    async (req) => steerGolem(fabric, tenantGolem(req, req.params.golem_id), req.body),
  );
}

/** A user's golems from their heartbeats, as answered (HTTP and MCP `fleet_status`). */
export async function fleetView(deps: { fabric: Pick<FabricService, "fleet">; clock: Clock }, userId: string) {
  const now = deps.clock.now();
  return { user_id: userId, golems: (await deps.fabric.fleet(userId)).map((p) => presentPresence(p, now)) };
}

/** One golem's identity facts and last heartbeat, as answered (HTTP and the MCP snapshot resource). */
export async function golemSnapshot(
  deps: { fabric: Pick<FabricService, "snapshot">; clock: Clock; online: (golemId: string) => boolean },
  g: Golem,
) {
  const p = await deps.fabric.snapshot(g.id);
  const now = deps.clock.now();
  return {
    golem_id: g.id,
    user_id: g.userId,
    status: g.status,
    generation: g.generation,
    archetype: g.archetype,
    age_seconds: Math.floor(Math.max(0, (g.diedAt ?? now) - g.createdAt) / 1000),
    connected: deps.online(g.id),
    presence: p ? presentPresence(p, now) : null,
  };
}

/** A steer of one golem, as answered (HTTP and MCP `steer`). */
export async function steerGolem(fabric: Pick<FabricService, "steer">, golem: Golem, b: SteerBody) {
  const r = await fabric.steer(golem, b.intent, b.severity ?? "medium");
  return { delivered: r.delivered, stream: r.event.stream, seq: r.event.seq };
}
