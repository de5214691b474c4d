// @styx/langgraph: LangGraph's long-term memory store and checkpointer on Styx, through @styx/client.

export { KIND, StyxSaver, type StyxSaverOptions } from "./saver.js";
export { CLADE, StyxStore, type StyxStoreOptions } from "./store.js";
