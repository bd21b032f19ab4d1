// Package fmnist provides the data side of the dress detector: a reader
// for Fashion-MNIST IDX files (gzipped or plain), the committed background
// photographs and their train/eval split, a deterministic 28×28 patch
// sampler for training a dress-vs-rest classifier, and a generator of large
// evaluation scenes (Fashion-MNIST items pasted onto photographs) with
// ground-truth boxes stored as JSON lines.
//
// Fashion-MNIST garments are light on a black background. Everywhere in this
// package an item is composited onto a background by using its pixel
// intensity as alpha (alpha = min(1, v/40)) and its value, times a random
// gain, as colour, so the black surround disappears and the garment keeps
// its shading.
package fmnist
