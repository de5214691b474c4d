// The same suite against LangGraph's own in-memory reference saver: a test that fails here too is
// not held against StyxSaver.
import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";

const initializer = {
  checkpointerName: "MemorySaver",
  createCheckpointer: () => new MemorySaver(),
};

validate(initializer);
// Opt-in in the suite (not part of validate): LangGraph's own savers run it too.
deltaChannelHistoryTests(initializer);
