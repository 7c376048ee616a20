import { parentPort } from 'node:worker_threads';
import { createFlowGenerator, flowGeneratorConfigSchema, initBackend, tf, type BackendName } from '@flex/model';
import { createFlowPolicy, type FlowPolicy, type FlowPolicyOptions, type FlowRolloutState } from '../flow/flow-policy';
import type { Rollout } from '../policy';
import { loadGrpoCheckpoint, saveGrpoCheckpoint } from './checkpoint';
import type { GRPOConfig } from './grpo-config';
import { grpoUpdate } from './grpo-update';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

/**
 * The update worker: holds a copy of the flow policy and the optimizer in its own thread (its own wasm
 * backend, so on its own core), runs GRPO updates on rollouts sent by the trainer and sends the new weights
 * back. Started by `WorkerUpdater`; not for direct use.
 */

let policy: FlowPolicy | undefined;
let optimizer: tf.AdamOptimizer | undefined;
let config: GRPOConfig | undefined;

function weightsOf(p: FlowPolicy): Float32Array[] {
  return p.parameters.variables().map((v) => v.dataSync() as Float32Array);
}

function assignWeights(target: FlowPolicy['generator'], weights: readonly Float32Array[]): void {
  const variables = target.parameters.variables();
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(weights[i] as Float32Array, v.shape))));
}

async function handle(message: WorkerRequest): Promise<WorkerResponse> {
  switch (message.type) {
    case 'init': {
      await initBackend({ backend: message.backend as BackendName });
      // The policy's describe(): its generator's config, and its options (every other key but `kind`).
      const { kind: _kind, generator: described, ...policyOptions } = message.policy as { kind?: string; generator: unknown } & Record<string, unknown>;
      const generatorConfig = flowGeneratorConfigSchema.parse(described);
      const generator = createFlowGenerator(generatorConfig);
      assignWeights(generator, message.weights);
      let reference;
      if (message.referenceWeights) {
        reference = createFlowGenerator(generatorConfig);
        assignWeights(reference, message.referenceWeights);
      }
      policy = createFlowPolicy({ ...(policyOptions as Omit<FlowPolicyOptions, 'generator' | 'reference'>), generator, ...(reference ? { reference } : {}) });
      config = message.config;
      optimizer = tf.train.adam(config.learningRate, config.adamBeta1, config.adamBeta2, config.adamEpsilon) as tf.AdamOptimizer;
      return { type: 'ready', id: message.id };
    }
    case 'update': {
      if (!policy || !optimizer || !config) throw new Error('update before init');
      const t0 = performance.now();
      const rollouts: Rollout<never, FlowRolloutState>[] = message.rollouts.map((r) => ({ sample: undefined as never, logProbs: r.logProbs, state: r.state }));
      const metrics = grpoUpdate({ policy: policy as never, optimizer, rollouts, advantages: message.advantages, valid: message.valid, step: message.step, config });
      const weights = weightsOf(policy);
      return { type: 'updated', id: message.id, weights, metrics, seconds: (performance.now() - t0) / 1000 };
    }
    case 'save': {
      if (!policy || !optimizer) throw new Error('save before init');
      await saveGrpoCheckpoint({ folder: message.folder, parameters: policy.parameters, optimizer, state: message.state });
      return { type: 'saved', id: message.id };
    }
    case 'load': {
      if (!policy || !optimizer) throw new Error('load before init');
      const { config: loaded } = await loadGrpoCheckpoint({ folder: message.folder, parameters: policy.parameters, optimizer });
      return { type: 'loaded', id: message.id, weights: weightsOf(policy), step: loaded.step, policy: loaded.policy };
    }
    case 'close':
      return { type: 'closed', id: message.id };
  }
}

parentPort?.on('message', (message: WorkerRequest) => {
  handle(message).then(
    (response) => {
      parentPort?.postMessage(response);
      if (response.type === 'closed') parentPort?.close();
    },
    (error: unknown) => {
      const e = error as Error & { code?: string };
      parentPort?.postMessage({ type: 'error', id: message.id, message: e?.message ?? String(error), ...(e?.code ? { code: e.code } : {}) } satisfies WorkerResponse);
    },
  );
});
