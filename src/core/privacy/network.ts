import { isDigit, isHex } from "./chars.js";
import { digitRun } from "./numbers.js";

/** IP addresses for the generic detectors: whole chunks, and inside longer tokens. */

export function isIpv4(s: string): boolean {
  const core = s.includes(":") ? s.slice(0, s.indexOf(":")) : s;
  const parts = core.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => p.length >= 1 && p.length <= 3 && /^\d+$/.test(p) && Number(p) <= 255);
}

export function isIpv6(s: string): boolean {
  if (s.length < 3 || s.length > 45) return false;
  let colons = 0;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 58) colons++;
    else if (isDigit(ch)) continue;
    else if (isHex(ch)) letters++;
    else if (ch !== 46) return false;
  }
  return (colons >= 3 || s.includes("::")) && (letters > 0 || s.includes("::") || colons >= 5);
}

/** The end of an IPv4 address (four numbers ≤ 255 joined by dots) starting at `i`, or 0. */
export function ipv4At(text: string, i: number, e: number): number {
  let j = i;
  for (let part = 0; part < 4; part++) {
    const d = digitRun(text, j, e);
    if (d < 1 || d > 3 || Number(text.slice(j, j + d)) > 255) return 0;
    j += d;
    if (part < 3) {
      if (text[j] !== ".") return 0;
      j++;
    }
  }
  return j < e && (isDigit(text.charCodeAt(j)) || (text[j] === "." && isDigit(text.charCodeAt(j + 1)))) ? 0 : j;
}

/** A run of 5–8 hex groups (1–4 digits, one a letter at least) joined by hyphens: an IPv6 address in a token. */
export function hyphenatedIpv6(text: string, s: number, e: number): { start: number; end: number } | undefined {
  let groups = 0;
  let start = s;
  let letters = 0;
  let j = s;
  while (j <= e) {
    let k = j;
    while (k < e && isHex(text.charCodeAt(k)) && k - j < 5) k++;
    const len = k - j;
    const boundary = k >= e || text[k] === "-";
    if (len >= 1 && len <= 4 && boundary) {
      for (let x = j; x < k; x++) if (!isDigit(text.charCodeAt(x))) letters++;
      groups++;
      if (groups >= 5 && letters > 0 && (k >= e || text[k] === "-")) {
        // Extend over any further groups, then report.
        let end = k;
        while (end < e && text[end] === "-") {
          let m = end + 1;
          while (m < e && isHex(text.charCodeAt(m)) && m - end - 1 < 4) m++;
          if (m === end + 1 || (m < e && text[m] !== "-")) break;
          end = m;
        }
        return { start, end };
      }
      j = k + 1;
    } else {
      // Restart after this group.
      while (k < e && text[k] !== "-") k++;
      j = k + 1;
      start = j;
      groups = 0;
      letters = 0;
    }
  }
  return undefined;
}
