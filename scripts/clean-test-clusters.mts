// Drops what earlier service-test runs left on the local services (schemas, JetStream streams
// and Redis keys of clusters named t_…), so runs never accumulate data. Run by test:services.
import { dropClusters } from "../src/testing/services.js";

const dropped = await dropClusters((c) => /^t_[0-9a-f]{12}$/.test(c));
console.log(dropped.length ? `dropped ${dropped.length} leftover test cluster(s)` : "no leftover test clusters");
