/** Character classes of the detectors, by code unit (ASCII unless said). */

export const isDigit = (c: number) => c >= 48 && c <= 57;
export const isLower = (c: number) => c >= 97 && c <= 122;
export const isUpper = (c: number) => c >= 65 && c <= 90;
export const isAsciiAlpha = (c: number) => isLower(c) || isUpper(c);
export const isAsciiAlnum = (c: number) => isDigit(c) || isAsciiAlpha(c);
export const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
/** Whitespace that separates chunks (ASCII, no-break, ideographic and the Unicode spaces). */
export const isSpace = (c: number) =>
  c === 32 || c === 9 || c === 10 || c === 13 || c === 0x3000 || c === 0xa0 || (c >= 0x2000 && c <= 0x200a);
/** Characters of base64 and base64url (and their padding). */
export const isB64 = (c: number) => isAsciiAlnum(c) || c === 43 || c === 47 || c === 45 || c === 95 || c === 61;
/** Base58 (bitcoin/Solana): alphanumerics without 0, O, I, l. */
export const isB58 = (c: number) => isAsciiAlnum(c) && c !== 48 && c !== 79 && c !== 73 && c !== 108;
const LETTER = /\p{L}/u;
/** Whether the character at `i` is a letter (any script) or an ASCII digit. */
export const isWordChar = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return isAsciiAlnum(c) || (c > 127 && LETTER.test(s[i] as string));
};
