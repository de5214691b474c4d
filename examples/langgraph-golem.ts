// A LangGraph agent as a golem: its graph state (every checkpoint of every thread) is kept in
// Styx by StyxSaver, so a restarted process resumes the conversation where it stopped, and its
// long-term memory is StyxStore, where the clade namespace shares lessons with the owner's other
// golems and search is Styx's ranked query. The chat model is LangChain's fake one (no network):
// swap in any chat model.
//
//   node --import tsx examples/langgraph-golem.ts [URL] [KEY]   (or STYX_URL / STYX_KEY)
import { fileURLToPath } from "node:url";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { type LangGraphRunnableConfig, MessagesAnnotation, StateGraph } from "@langchain/langgraph";
import { StyxClient } from "@styx/client";
import { StyxSaver, StyxStore } from "@styx/langgraph";

/** Options of `langgraphGolem`. */
export interface LangGraphGolemOptions {
  readonly url: string;
  /** The owner's API key (it registers the golem). */
  readonly key: string;
  readonly log?: (line: string) => void;
}

/** Builds the agent of one golem: a model node that recalls lessons from the store and keeps a new one. */
function agentOf(client: StyxClient, golemId: string, answers: string[]) {
  const model = new FakeListChatModel({ responses: answers });
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", async (state, config: LangGraphRunnableConfig) => {
      const last = String(state.messages.at(-1)?.content ?? "");
      const recalled = (await config.store?.search(["clade", "defi"], { query: last, limit: 3 })) ?? [];
      const reply = await model.invoke([
        ...state.messages,
        { role: "system", content: `Lessons: ${recalled.map((i) => i.value.text).join("; ")}` },
      ]);
      await config.store?.put(["clade", "defi"], `lesson-${state.messages.length}`, { text: String(reply.content) });
      return { messages: [reply] };
    })
    .addEdge("__start__", "agent")
    .compile({ checkpointer: new StyxSaver({ client, golemId }), store: new StyxStore({ client, golemId }) });
}

/**
 * Registers a golem, talks to its agent on one thread, then builds the agent again (as a restarted
 * process would: nothing in memory) and goes on with the same thread. Returns the thread's
 * messages as Styx gives them back, and what the store recalls for "liquidations".
 */
export async function langgraphGolem(opts: LangGraphGolemOptions): Promise<{ golemId: string; messages: string[]; recalled: string[] }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const client = new StyxClient({ url: opts.url, token: opts.key });
  const { id: golemId } = await client.registerGolem({ archetype: "scout" });
  const config = { configurable: { thread_id: "market-watch" } };

  const first = agentOf(client, golemId, ["Oracle lag precedes liquidations on thin books."]);
  await first.invoke({ messages: [{ role: "user", content: "What moves before liquidations?" }] }, config);
  log(`${golemId}: turn 1 kept in Styx`);

  const restarted = agentOf(client, golemId, ["Then watch the oracle heartbeat, not the price."]);
  const state = await restarted.invoke({ messages: [{ role: "user", content: "And what should I watch?" }] }, config);
  const messages = state.messages.map((m) => String(m.content));
  for (const m of messages) log(`  ${m}`);
  const recalled = (await new StyxStore({ client, golemId }).search(["clade", "defi"], { query: "liquidations" })).map((i) =>
    String(i.value.text),
  );
  log(`recalled: ${recalled.join(" | ")}`);
  return { golemId, messages, recalled };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? process.env.STYX_URL ?? "http://localhost:8080";
  const key = process.argv[3] ?? process.env.STYX_KEY;
  if (!key) throw new Error("usage: examples/langgraph-golem.ts [URL] KEY (or STYX_KEY)");
  await langgraphGolem({ url, key });
}
