/**
 * A tiny 5×7 bitmap font (upper case, digits, common punctuation) for labels on contact sheets. Lower case is drawn
 * as upper case; unknown characters as a box.
 */
const glyphRows: Readonly<Record<string, string>> = {
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11100 10010 10001 10001 10001 10010 11100',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 01010 00100 00100 00100 00100',
  Z: '11111 00001 00010 00100 01000 10000 11111',
  '0': '01110 10001 10011 10101 11001 10001 01110',
  '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111',
  '3': '11111 00010 00100 00010 00001 10001 01110',
  '4': '00010 00110 01010 10010 11111 00010 00010',
  '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110',
  '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110',
  '9': '01110 10001 10001 01111 00001 00010 01100',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  ',': '00000 00000 00000 00000 01100 00100 01000',
  ':': '00000 01100 01100 00000 01100 01100 00000',
  ';': '00000 01100 01100 00000 01100 00100 01000',
  "'": '01100 00100 01000 00000 00000 00000 00000',
  '"': '01010 01010 01010 00000 00000 00000 00000',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  _: '00000 00000 00000 00000 00000 00000 11111',
  '!': '00100 00100 00100 00100 00100 00000 00100',
  '?': '01110 10001 00001 00010 00100 00000 00100',
  '(': '00010 00100 01000 01000 01000 00100 00010',
  ')': '01000 00100 00010 00010 00010 00100 01000',
  '/': '00000 00001 00010 00100 01000 10000 00000',
  '&': '01100 10010 10100 01000 10101 10010 01101',
  '%': '11000 11001 00010 00100 01000 10011 00011',
  '+': '00000 00100 00100 11111 00100 00100 00000',
  '=': '00000 00000 11111 00000 11111 00000 00000',
  '<': '00010 00100 01000 10000 01000 00100 00010',
  '>': '01000 00100 00010 00001 00010 00100 01000',
  '|': '00100 00100 00100 00100 00100 00100 00100',
  '#': '01010 01010 11111 01010 11111 01010 01010',
};

const unknownGlyph = '11111 10001 10001 10001 10001 10001 11111';

/** Width and height of one glyph in pixels (before scaling); characters advance by width + 1. */
export const glyphSize = { width: 5, height: 7 } as const;

/** The 7 rows of 5 bits of a character. */
export function glyph(character: string): readonly string[] {
  return (glyphRows[character.toUpperCase()] ?? unknownGlyph).split(' ');
}

/**
 * Draw text into an RGB float image (row-major HWC) at (x, y), each font pixel a `scale`×`scale` block.
 * Returns the x after the last character.
 */
export function drawText(target: { width: number; height: number; data: Float32Array }, text: string, x: number, y: number, colour: readonly [number, number, number], scale = 1): number {
  let cursor = x;
  for (const character of text) {
    const rows = glyph(character);
    rows.forEach((row, ry) => {
      for (let rx = 0; rx < row.length; rx++) {
        if (row[rx] !== '1') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = cursor + rx * scale + sx;
            const py = y + ry * scale + sy;
            if (px < 0 || py < 0 || px >= target.width || py >= target.height) continue;
            const i = (py * target.width + px) * 3;
            target.data[i] = colour[0];
            target.data[i + 1] = colour[1];
            target.data[i + 2] = colour[2];
          }
        }
      }
    });
    cursor += (glyphSize.width + 1) * scale;
  }
  return cursor;
}

/** Wrap text into lines of at most `columns` characters, breaking at spaces. */
export function wrapText(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= columns) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
    while (line.length > columns) {
      lines.push(line.slice(0, columns));
      line = line.slice(columns);
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
