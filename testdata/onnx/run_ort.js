// Runs the ONNX models fc2conv exported (exported/*.onnx, written with
// their inputs by `go test ./onnx -run TestExportORT -update`) in ONNX
// Runtime and writes exported/ort_outputs.json, which TestExportORT
// compares with fc2conv's own engine. It also checks that chain_op21.onnx
// (chain_op17 relabelled opset 21 by gen.py) still computes what
// chain_op17.onnx does, and activations3_op20.onnx (Gelu and Mish ops in
// place of their nodes) what activations3_op13.onnx does.
//
//   cd testdata/onnx && npm install --ignore-scripts && node run_ort.js
//   node run_ort.js MODEL.onnx IN.json OUT.json   # one model, one input
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function run(file, data, shape) {
  const s = await ort.InferenceSession.create(file);
  const r = await s.run({ input: new ort.Tensor('float32', Float32Array.from(data), shape) });
  return r.output;
}

async function one(model, inFile, outFile) {
  const c = JSON.parse(fs.readFileSync(inFile, 'utf8'));
  const o = await run(model, c.input, c.shape);
  fs.writeFileSync(outFile, JSON.stringify({ shape: o.dims, data: Array.from(o.data) }));
  console.log(`${model}: input ${c.shape.join('x')} -> output ${o.dims.join('x')} in ONNX Runtime ${ort.env.versions.common}`);
}

(async () => {
  // node run_ort.js MODEL.onnx IN.json OUT.json runs one model on
  // {"shape": [...], "input": [...]} (gen.py seed-check uses it).
  if (process.argv.length === 5) {
    await one(process.argv[2], process.argv[3], process.argv[4]);
    return;
  }
  const dir = path.join(__dirname, 'exported');
  const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
  const out = {};
  for (const c of cases) {
    const o = await run(path.join(dir, c.name + '.onnx'), c.input, c.shape);
    out[c.name] = { shape: o.dims, data: Array.from(o.data) };
    console.log(`${c.name}: input ${c.shape.join('x')} -> output ${o.dims.join('x')}`);
  }
  fs.writeFileSync(path.join(dir, 'ort_outputs.json'), JSON.stringify(out) + '\n');

  // Relabelled models against the ones they came from, on one input.
  for (const [a, b, shape, tol] of [['chain_op17', 'chain_op21', [2, 1, 16, 12], 0],
    ['activations3_op13', 'activations3_op20', [2, 3, 12, 10], 1e-5]]) {
    const n = shape.reduce((p, q) => p * q, 1);
    const x = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
    const ra = await run(path.join(__dirname, a + '.onnx'), x, shape);
    const rb = await run(path.join(__dirname, b + '.onnx'), x, shape);
    let d = 0;
    for (let i = 0; i < ra.data.length; i++) d = Math.max(d, Math.abs(ra.data[i] - rb.data[i]));
    console.log(`${b} vs ${a} in ONNX Runtime ${ort.env.versions.common}: max abs diff ${d}`);
    if (d > tol) process.exit(1);
  }
})().catch((e) => { console.error(e); process.exit(1); });
