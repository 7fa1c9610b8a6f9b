// The demo model's name and numbers, apart from demo-model.ts so that printing them loads no ONNX writer or client.

export const DEMO_MODEL = 'demo';
export const DEMO_WEIGHTS = [0.5, -1, 2];
export const DEMO_BIAS = 0.25;
/** The quick start's example input; 1·0.5 + 2·(-1) + 3·2 + 0.25 = 4.75. */
export const DEMO_INPUT = [[1, 2, 3]];
