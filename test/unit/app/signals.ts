import type { Signals } from "../../../src/core/platform/signals.js";

/** Gateways on one in-process channel: every signal reaches every gateway, its sender included (as the port promises). */
export function signalChannel(): { gateway(origin: string): Signals & { sent: [string, Record<string, unknown>][] } } {
  const handlers: { topic: string; fn: (p: Record<string, unknown>, origin: string) => void }[] = [];
  return {
    gateway(origin) {
      const sent: [string, Record<string, unknown>][] = [];
      return {
        origin,
        sent,
        publish(topic, payload) {
          sent.push([topic, payload]);
          for (const h of [...handlers]) if (h.topic === topic) h.fn(payload, origin);
        },
        subscribe(topic, fn) {
          const h = { topic, fn };
          handlers.push(h);
          return () => void handlers.splice(handlers.indexOf(h), 1);
        },
      };
    },
  };
}
