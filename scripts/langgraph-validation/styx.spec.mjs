// LangGraph's checkpointer validation suite against StyxSaver on a live Styx (STYX_URL): each
// checkpointer the suite creates is a new golem of the user STYX_USER, with its own key bound to
// it (a golem credential), so no two share state.
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { StyxClient } from "@styx/client";
import { StyxSaver } from "@styx/langgraph";

const url = process.env.STYX_URL;
const admin = new StyxClient({ url, token: process.env.STYX_ADMIN_TOKEN });
const owner = new StyxClient({ url, token: process.env.STYX_KEY });
let n = 0;

const initializer = {
  checkpointerName: "@styx/langgraph",
  async createCheckpointer() {
    const { id } = await owner.registerGolem({});
    const { key } = await admin.createKey(process.env.STYX_USER, { name: `validation-${++n}`, golem_id: id });
    return new StyxSaver({ client: new StyxClient({ url, token: key }), golemId: id });
  },
};

validate(initializer);
// Opt-in in the suite (not part of validate): LangGraph's own savers run it too.
deltaChannelHistoryTests(initializer);
