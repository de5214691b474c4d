import type { FederationLink } from "../../../core/federation/federation-store.js";
import { linkSendsUp } from "../../../core/federation/outlet.js";
import type { RecordApplier } from "../../../core/federation/records.js";
import { FederationRecordWire, type RecordsAnswer } from "../../../protocol/federation.js";
import { recordFromWire } from "../../../protocol/federation-codec.js";
import { makeAjv } from "../../../protocol/json-rules.js";

const checkRecord = makeAjv(false).compile<FederationRecordWire>(FederationRecordWire);

/**
 * A push's records, each alone (SPEC §17.2 up): checked against the record schema
 * (`STYX_VALIDATION`), of the link's own origin (`STYX_FEDERATION_ORIGIN`: a Styx pushes only
 * its own records), of a kind and domain the link agreed to send up
 * (`STYX_FEDERATION_NOT_AGREED`), then applied; a refusal names the record's index, the others go on.
 */
export async function pushRecords(link: FederationLink, records: readonly unknown[], applier: RecordApplier): Promise<RecordsAnswer> {
  const answer = { accepted: 0, duplicates: 0, rejected: [] as { index: number; code: string }[] };
  for (const [index, raw] of records.entries()) {
    if (!checkRecord(raw)) {
      answer.rejected.push({ index, code: "STYX_VALIDATION" });
      continue;
    }
    const record = recordFromWire(raw);
    if (record.origin !== link.instanceId) {
      answer.rejected.push({ index, code: "STYX_FEDERATION_ORIGIN" });
      continue;
    }
    if (!linkSendsUp(link, record.kind, record.domain)) {
      answer.rejected.push({ index, code: "STYX_FEDERATION_NOT_AGREED" });
      continue;
    }
    const r = await applier.apply(record);
    if (r.outcome === "accepted") answer.accepted++;
    else if (r.outcome === "duplicate") answer.duplicates++;
    else answer.rejected.push({ index, code: r.code });
  }
  return answer;
}
