// The same suite against LangGraph's own in-memory reference saver: a test that fails here too is
// not held against StyxSaver.
import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { validate } from "@langchain/langgraph-checkpoint-validation";

validate({
  checkpointerName: "MemorySaver",
  createCheckpointer: () => new MemorySaver(),
});
