import type { Progress } from "../app/backup/report.js";

const WIDTH = 30;

/**
 * Progress on stderr: on a terminal a bar redrawn in place at most 10 times a second; otherwise
 * (a pipe, a log, CI) one plain line per section and one every 10 % of the phase.
 */
export function cliProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let phase = "";
  let total = 0;
  let done = 0;
  let label = "";
  let lastDraw = 0;
  let lastDecile = -1;
  const pct = () => (total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0);
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const filled = total > 0 ? Math.round((done / total) * WIDTH) : 0;
    const bar = `${"#".repeat(filled)}${".".repeat(WIDTH - filled)}`;
    const count = total > 0 ? `${pct()}% ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}` : done.toLocaleString("en-US");
    stream.write(`\r\x1b[2K${phase} [${bar}] ${count} ${label}`.slice(0, (stream.columns ?? 120) + 8));
  };
  return {
    start(p, t) {
      phase = p;
      total = t;
      done = 0;
      label = "";
      lastDecile = -1;
      if (tty) draw(true);
      else stream.write(`${p}: started${t > 0 ? ` (${t.toLocaleString("en-US")} rows and file chunks)` : ""}\n`);
    },
    section(l, units) {
      label = l;
      if (tty) draw();
      else if (units >= 1000 || !l.startsWith("file ")) stream.write(`${phase}: ${l} (${units.toLocaleString("en-US")})\n`);
    },
    advance(n) {
      done += n;
      if (tty) draw();
      else if (total > 0) {
        const decile = Math.floor((done / total) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          if (decile > 0) stream.write(`${phase}: ${decile * 10}% (${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")})\n`);
        }
      }
    },
    done() {
      if (tty) {
        label = "done";
        draw(true);
        stream.write("\n");
      } else stream.write(`${phase}: done${total > 0 ? ` (${done.toLocaleString("en-US")})` : ""}\n`);
    },
  };
}
