// Package detect scans photos with a fully convolutional network (FCN): it
// loads and preprocesses images, runs the network once per scale of an
// image pyramid, turns the output channel of one class into heatmaps whose
// cells map back to boxes in the original image, and keeps the best boxes
// with non-maximum suppression, each moved by box voting to the mean of the
// windows around it (Options.Vote), and optionally rescored by a second
// classifier shown the image under each box (Options.Verifier). It also
// renders heatmap overlays, writes heatmaps as NumPy .npy files and scores
// detections with COCO-style average precision.
//
// New takes a network already converted; Open loads a model file and
// converts an FC one first. The zero Options mean the documented defaults.
// The geometry (total stride, window, receptive field) is read from the
// network's layers, never assumed. Three refinements keep the output
// identical to the naive "crop every window and classify it" loop, within
// float rounding:
//
//   - Dense steps: a step s smaller than the total stride S is obtained by
//     shift-and-stitch: the network runs on the image with its top-left
//     s, 2s, … pixels cropped off, and the outputs are interleaved.
//   - Tiling: large images are cut into overlapping tiles whose origins are
//     multiples of S, so memory is bounded by the tile, not the image.
//   - Every heatmap cell stands for a window that lies wholly inside the
//     (scaled) image; cells whose window would stick out are not reported.
//
// See Detector for what holds when the network pads its convolutions.
package detect
