import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { renderJudgeTemplate, type Modality } from '@flex/criteria';
import { pngDataUrl } from '@flex/model';
import { readJudgeCall, type ChatRequestLimits } from './chat-request';
import { decodePngDataUrl } from './png-data-url';
import { byteImage, byteVideo } from './test-helpers';

const limits: ChatRequestLimits = { maxImagePixels: 4096, maxFramesPerCandidate: 64, videoFps: 8 };

function body(mode: 'pairwise' | 'pointwise', modality: Modality, options: { format?: 'json' | 'compact'; extensions?: boolean; frames?: [number, number] } = {}) {
  const [n1, n2] = options.frames ?? [3, 5];
  const media =
    modality === 'image'
      ? mode === 'pairwise'
        ? [pngDataUrl(byteImage(1)), pngDataUrl(byteImage(2))]
        : [pngDataUrl(byteImage(1))]
      : mode === 'pairwise'
        ? [byteVideo(1, n1).frames.map((f) => pngDataUrl(f)), byteVideo(2, n2).frames.map((f) => pngDataUrl(f))]
        : [byteVideo(1, n1).frames.map((f) => pngDataUrl(f))];
  const template = renderJudgeTemplate({
    mode,
    modality,
    prompt: 'two "red" circles | one\nblue square',
    media,
    format: options.format ?? 'json',
    extensions: options.extensions ?? true,
    framesPerVideo: 64,
    imageDetail: 'high',
  });
  return { model: 'm', messages: template.messages };
}

describe('readJudgeCall', () => {
  it('recognises every template kind, format and extension setting, recovering the prompt and the media', () => {
    for (const mode of ['pairwise', 'pointwise'] as const) {
      for (const modality of ['image', 'video'] as const) {
        for (const format of ['json', 'compact'] as const) {
          for (const extensions of [true, false]) {
            const read = readJudgeCall(body(mode, modality, { format, extensions }), limits);
            expect(read.ok, `${mode} ${modality} ${format} ${extensions}`).toBe(true);
            if (!read.ok) continue;
            expect(read.model).toBe('m');
            expect(read.call).toMatchObject({ mode, format, request: { prompt: 'two "red" circles | one\nblue square', modality } });
          }
        }
      }
    }
  });

  it('splits pairwise video frames as the text announces (videos of different lengths), with exact pixels', () => {
    const read = readJudgeCall(body('pairwise', 'video', { frames: [2, 7] }), limits);
    expect(read.ok).toBe(true);
    if (!read.ok || read.call.mode !== 'pairwise') return;
    const { a, b } = read.call.request;
    expect('frames' in a && a.frames.length).toBe(2);
    expect('frames' in b && b.frames.length).toBe(7);
    if ('frames' in b) {
      expect(b.fps).toBe(8);
      expect(Array.from(b.frames[6]!.data)).toEqual(Array.from(byteVideo(2, 7).frames[6]!.data));
    }
  });

  it('refuses too many frames per video', () => {
    const read = readJudgeCall(body('pointwise', 'video', { frames: [9, 1] }), { ...limits, maxFramesPerCandidate: 8 });
    expect(read).toMatchObject({ ok: false, error: { status: 400, code: 'frame_count_mismatch' } });
  });
});

describe('decodePngDataUrl', () => {
  const encode = (options: { colorType: 0 | 2 | 4 | 6; bitDepth?: 8 | 16 }, width = 2, height = 1) => {
    const png = new PNG({ width, height, colorType: options.colorType, bitDepth: options.bitDepth ?? 8 });
    png.data = Buffer.from([255, 0, 51, 128, 0, 255, 102, 255]);
    const bytes = PNG.sync.write(png, { colorType: options.colorType, bitDepth: options.bitDepth ?? 8, inputColorType: 6, inputHasAlpha: true });
    return `data:image/png;base64,${bytes.toString('base64')}`;
  };

  it('reads RGB, RGBA, grey and 16-bit PNGs to RGB in [0, 1], dropping alpha', () => {
    const rgba = decodePngDataUrl(encode({ colorType: 6 }), { maxImagePixels: 10 }, 'x');
    expect(rgba.ok && Array.from(rgba.image.data)).toEqual([1, 0, 0.2, 0, 1, 0.4].map((v) => Math.fround(v)));
    const rgb = decodePngDataUrl(encode({ colorType: 2 }), { maxImagePixels: 10 }, 'x');
    expect(rgb.ok && rgb.image.width).toBe(2);
    const grey = decodePngDataUrl(encode({ colorType: 0 }), { maxImagePixels: 10 }, 'x');
    expect(grey.ok && grey.image.data[0] === grey.image.data[1] && grey.image.data[1] === grey.image.data[2]).toBe(true);
    const deep = decodePngDataUrl(encode({ colorType: 2, bitDepth: 16 }), { maxImagePixels: 10 }, 'x');
    expect(deep.ok && deep.image.width === 2 && deep.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('checks the size from the header before decoding', () => {
    const result = decodePngDataUrl(encode({ colorType: 6 }, 2, 1), { maxImagePixels: 1 }, 'messages[1].content[0]');
    expect(result).toMatchObject({ ok: false, error: { code: 'image_too_large', param: 'messages[1].content[0]' } });
  });
});
