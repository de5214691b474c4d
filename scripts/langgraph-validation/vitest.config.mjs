// Vitest settings of the LangGraph checkpoint validation (scripts/langgraph-validation.mjs): the
// suite of @langchain/langgraph-checkpoint-validation uses vitest's globals.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globals: true,
    include: ["scripts/langgraph-validation/*.spec.mjs"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
