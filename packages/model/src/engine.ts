import * as tf from '@tensorflow/tfjs';

/**
 * The TensorFlow.js engine, re-exported so that every Flex package uses one engine and one backend.
 * Other packages must import `tf` from `@flex/model`, never `@tensorflow/*` directly.
 */
export { tf };
/** A tensor of any rank. */
export type Tensor = tf.Tensor;
/** A trainable variable. */
export type Variable = tf.Variable;
