/**
 * A 5×7 bitmap font for chart labels (printable ASCII). Each glyph is five columns, left to right; bit 0 of
 * a column is the top row. Characters outside the table are drawn as `?`.
 */

const glyphTable =
  ' 0000000000|!00005f0000|"0007000700|#147f147f14|$242a7f2a12|%2313086462|&3649552250|\'0005030000|' +
  '(001c224100|)0041221c00|*142a1c2a14|+08083e0808|,0050300000|-0808080808|.0060600000|/2010080402|' +
  '03e5149453e|100427f4000|24261514946|32141454b31|41814127f10|52745454539|63c4a494930|70171090503|' +
  '83649494936|90649492916|:0036360000|;0056360000|<0814224100|=1414141414|>0041221408|?0201510906|' +
  '@324979413e|A7e1111117e|B7f49494936|C3e41414122|D7f4141221c|E7f49494941|F7f09090101|G3e41415132|' +
  'H7f0808087f|I00417f4100|J2040413f01|K7f08142241|L7f40404040|M7f0204027f|N7f0408107f|O3e4141413e|' +
  'P7f09090906|Q3e4151215e|R7f09192946|S4649494931|T01017f0101|U3f4040403f|V1f2040201f|W7f2018207f|' +
  'X6314081463|Y0304780403|Z6151494543|[007f414100|\\0204081020|]0041417f00|^0402010204|_4040404040|' +
  '`0001020400|a2054545478|b7f48444438|c3844444420|d384444487f|e3854545418|f087e090102|g0c5252523e|' +
  'h7f08040478|i00447d4000|j2040443d00|k007f102844|l00417f4000|m7c04180478|n7c08040478|o3844444438|' +
  'p7c14141408|q081414187c|r7c08040408|s4854545420|t043f444020|u3c4040207c|v1c2040201c|w3c4030403c|' +
  'x4428102844|y0c5050503c|z4464544c44|{0008364100||00007f0000|}0041360800|~0804080408';

const glyphs = new Map<string, number[]>();
// Entries are one character, ten hex digits, then a `|` separator (read by position: `|` is a glyph too).
for (let i = 0; i + 11 <= glyphTable.length; i += 12) {
  const hex = glyphTable.slice(i + 1, i + 11);
  glyphs.set(glyphTable[i] as string, [0, 2, 4, 6, 8].map((k) => parseInt(hex.slice(k, k + 2), 16)));
}

/** Width of a glyph in font pixels (before scaling). */
export const glyphWidth = 5;
/** Height of a glyph in font pixels (before scaling). */
export const glyphHeight = 7;
/** Horizontal advance per character in font pixels (glyph plus one column of spacing). */
export const glyphAdvance = 6;

/** The five column bytes of a character (unknown characters give `?`). */
export function glyphColumns(char: string): readonly number[] {
  return glyphs.get(char) ?? (glyphs.get('?') as number[]);
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * glyphAdvance - 1) * scale;
}
