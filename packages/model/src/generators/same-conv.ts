import { tf } from '../engine';
import type { Parameters } from '../layers';

/**
 * A stride-1 'same' 3×3 (any odd size) convolution whose input gradient is itself a forward convolution
 * (the flipped, channel-transposed filter), so both passes stay on wasm's fast XNNPACK path: as shipped,
 * `Conv2DBackpropInput` runs about 10× slower than the forward convolution (TFJS.md), and it dominated the
 * generators' training step. The filter gradient goes through the `Conv2DBackpropFilter` kernel, which
 * @flex/model's kernel fixes make fast.
 */
export class SameConv2d {
  readonly filter: tf.Variable;
  readonly bias: tf.Variable;
  readonly #op: (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

  constructor(params: Parameters, name: string, inChannels: number, outChannels: number, readonly size = 3) {
    if (size % 2 !== 1) throw new RangeError('SameConv2d needs an odd kernel size');
    this.filter = params.create(`${name}.filter`, [size, size, inChannels, outChannels], { kind: 'normal', std: Math.sqrt(2 / (size * size * inChannels)) });
    this.bias = params.create(`${name}.bias`, [outChannels], { kind: 'zeros' });
    this.#op = tf.customGrad((x, filter, save) => {
      const xs = x as tf.Tensor4D;
      const fs = filter as tf.Tensor4D;
      (save as unknown as (tensors: tf.Tensor[]) => void)([xs, fs]);
      return {
        value: tf.conv2d(xs, fs, 1, 'same'),
        gradFunc: (dy, saved) => {
          const [input, kernel] = saved as [tf.Tensor4D, tf.Tensor4D];
          const flipped = tf.reverse(kernel, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
          const dx = tf.conv2d(dy as tf.Tensor4D, flipped, 1, 'same');
          const df = tf.engine().runKernel('Conv2DBackpropFilter', { x: input, dy }, {
            strides: [1, 1],
            pad: 'same',
            dataFormat: 'NHWC',
            filterShape: kernel.shape,
          }) as tf.Tensor4D;
          return [dx, df];
        },
      };
    }) as (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.#op(x, this.filter as tf.Tensor4D).add(this.bias) as tf.Tensor4D);
  }
}
