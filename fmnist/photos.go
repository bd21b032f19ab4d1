package fmnist

import (
	"bufio"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // decoders for Photos
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
)

// SplitFile lists, in a photo directory, which photos are for training and
// which are kept for evaluation. Each non-blank line that is not a #
// comment reads "<split> <file>" with split "train" or "eval".
const SplitFile = "SPLIT.txt"

// Photo split names.
const (
	PhotosTrain = "train"
	PhotosEval  = "eval"
)

// MaxPhotoPixels bounds the size of a photo Photos will decode.
const MaxPhotoPixels = 1 << 24

// PhotoNames returns the file names listed for split ("train" or "eval")
// in dir/SPLIT.txt, in file order. A file listed twice, or under both
// splits, is an error.
func PhotoNames(dir, split string) ([]string, error) {
	if split != PhotosTrain && split != PhotosEval {
		return nil, fmt.Errorf("fmnist: unknown photo split %q (want %q or %q)", split, PhotosTrain, PhotosEval)
	}
	path := filepath.Join(dir, SplitFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fmnist: photo split: %w", err)
	}
	defer f.Close()
	seen := map[string]string{}
	var names []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 || (fields[0] != PhotosTrain && fields[0] != PhotosEval) {
			return nil, fmt.Errorf("fmnist: %s:%d: want \"train|eval <file>\", got %q", path, line, text)
		}
		name := fields[1]
		if name != filepath.Base(name) || name == "." || name == ".." {
			return nil, fmt.Errorf("fmnist: %s:%d: %q is not a plain file name", path, line, name)
		}
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("fmnist: %s:%d: %s already listed under %s", path, line, name, prev)
		}
		seen[name] = fields[0]
		if fields[0] == split {
			names = append(names, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fmnist: %s: %w", path, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("fmnist: %s lists no %s photos", path, split)
	}
	return names, nil
}

// Photos decodes the photos of a split ("train" or "eval") listed in
// dir/SPLIT.txt and returns them as greyscale images. Evaluation photos
// must never be used to make training patches.
func Photos(dir, split string) ([]*image.Gray, error) {
	_, photos, err := NamedPhotos(dir, split)
	return photos, err
}

// NamedPhotos is Photos with each photo's file name, from one read of
// SPLIT.txt: names[i] is photos[i]'s.
func NamedPhotos(dir, split string) (names []string, photos []*image.Gray, err error) {
	if names, err = PhotoNames(dir, split); err != nil {
		return nil, nil, err
	}
	photos = make([]*image.Gray, 0, len(names))
	for _, name := range names {
		g, err := readPhoto(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		photos = append(photos, g)
	}
	return names, photos, nil
}

func readPhoto(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fmnist: photo: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("fmnist: photo %s: %w", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > MaxPhotoPixels {
		return nil, fmt.Errorf("fmnist: photo %s: size %d×%d outside 1..%d pixels", path, cfg.Width, cfg.Height, MaxPhotoPixels)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("fmnist: photo %s: %w", path, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("fmnist: photo %s: %w", path, err)
	}
	return Gray(img), nil
}

// Gray returns img as an *image.Gray with its bounds moved to the origin;
// an *image.Gray already at the origin is returned as is.
func Gray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}
