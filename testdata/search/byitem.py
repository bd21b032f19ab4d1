#!/usr/bin/python3
"""A dress scan's misses and false positives counted by item, not placement.

usage: python3 testdata/search/byitem.py [--bright FILE SPLIT] THRESHOLD SCANDIR SETDIR...
       python3 testdata/search/byitem.py compare SCANDIR BASEDIR SETDIR...

`fc2conv scenes` draws each scene's items with replacement from one set
(t10k's 10,000, or the 6,000 of the held-out split), so the same item is
painted in many scenes, and a set of scenes holds fewer distinct dresses
than dress placements. Each SETDIR is a scenes folder whose truth.jsonl
names every object's item (`"item"`, written since session 70; the same
flags write the same scenes again with it); its scan is
SCANDIR/NAME.jsonl, NAME being the SETDIR's base name, as byphoto.py
reads them. Detections scored at or above THRESHOLD are matched to the
dresses as `fc2conv eval detect` does (phase.match); the rest are false
positives, each put on the object it overlaps most at IoU >= 0.3, else
on the photograph (phase.nearest, as stages.py counts them).

Prints how many distinct dresses the placements are, how the misses
spread over them (the items missed every time they are painted, the
most missed), the false positives' items, and the recall's 95% interval
over 2,000 resamples of the scenes and of the distinct dresses (each
drawn with all its placements): how far the figure would move with
another draw of scenes, and with another draw of items. With --bright,
FILE is testdata/search/itembright's output and SPLIT the items' split
(val or t10k): the distinct dresses are cut into quarters by brightness
and each quarter's recall is printed.

compare scores two scans of the same sets (SCANDIR, a candidate's, and
BASEDIR, the baseline's) at each one's lowest threshold with at most 0.1
false positives per image, as `eval detect --baseline --bootstrap` does,
and resamples the difference in recall two ways, 2,000 times each, both
scans alike in each resample: the scenes (what `eval detect` does), and
the items, dresses among the distinct dresses and other garments among
the distinct garments, each drawn with all its placements and the false
positives on them (those on the photograph alone, and the number of
images, stay as they are). Standard library only; nothing here is used
by the Go code or its tests.
"""
import collections
import os
import random
import sys

from phase import match, match_detections, nearest, set_scans


def load(scandir, sets):
    """Yields (set name, truth record, detections) for every scanned scene."""
    for name, t, rec in set_scans(scandir, sets):
        if any("item" not in o for o in t["objects"]):
            sys.exit(f"{name}: truth without items; write the scenes again with fc2conv scenes")
        yield name, t, rec["detections"] or []


def interval(values):
    values = sorted(values)
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def read_bright(path, split):
    """Item index -> brightness, for split's items in itembright's output."""
    out = {}
    with open(path) as f:
        for line in f:
            name, index, _, value = line.split()
            if name == split:
                out[int(index)] = float(value)
    if not out:
        sys.exit(f"{path}: no items of split {split!r}")
    return out


def main():
    args = sys.argv[1:]
    bright = None
    if args[:1] == ["--bright"]:
        if len(args) < 3:
            sys.exit(__doc__)
        bright, args = read_bright(args[1], args[2]), args[3:]
    if len(args) < 3:
        sys.exit(__doc__)
    threshold, scandir, sets = float(args[0]), args[1], args[2:]
    placements = collections.defaultdict(lambda: [0, 0])  # dress item -> [painted, found]
    scenes = []  # per scene: [(item, found)] for its dresses
    fp_items = collections.Counter()  # (class, item) of false positives on an object
    fp_background, n_fp = 0, 0
    for _, t, dets in load(scandir, sets):
        objs = t["objects"]
        hit, left = match(dets, objs, threshold)
        row = []
        for i, o in enumerate(objs):
            if o["class"] == 3:
                p = placements[o["item"]]
                p[0] += 1
                p[1] += i in hit
                row.append((o["item"], i in hit))
        scenes.append(row)
        for i in left:
            n_fp += 1
            if i is None:
                fp_background += 1
            else:
                fp_items[(objs[i]["label"], objs[i]["item"])] += 1

    painted = sum(p[0] for p in placements.values())
    found = sum(p[1] for p in placements.values())
    print(f"{len(scenes)} scenes, {painted} dress placements of {len(placements)} distinct dresses "
          f"({painted / len(placements):.2f} each, at most {max(p[0] for p in placements.values())})")
    print(f"at {threshold}: recall {found / painted:.4f} ({found} of {painted}), {n_fp} false positives ({n_fp / len(scenes):.3f} per image)")
    missed = {k: p for k, p in placements.items() if p[1] < p[0]}
    n_missed = painted - found
    always = {k: p for k, p in missed.items() if p[1] == 0}
    print(f"missed: {n_missed} placements of {len(missed)} distinct dresses; "
          f"{len(always)} dresses missed every time ({sum(p[0] for p in always.values())} placements, "
          f"{sum(p[0] for p in always.values()) / max(1, n_missed):.0%} of the misses)")
    repeat = sum(p[0] - p[1] for p in missed.values() if p[0] - p[1] >= 2)
    print(f"misses from dresses missed twice or more: {repeat} ({repeat / max(1, n_missed):.0%})")
    top = sorted(missed.items(), key=lambda kv: (-(kv[1][0] - kv[1][1]), kv[0]))[:12]
    print("most missed (item: missed of painted): " + ", ".join(f"{k}: {p[0] - p[1]}/{p[0]}" for k, p in top))
    by_class = collections.Counter()
    for (label, _), n in fp_items.items():
        by_class[label] += n
    print(f"false positives on objects: {sum(fp_items.values())} on {len(fp_items)} distinct items; on the photograph alone: {fp_background}")
    for label, n in by_class.most_common():
        items = [(k[1], c) for k, c in fp_items.items() if k[0] == label]
        multi = sum(c for _, c in items if c >= 2)
        print(f"  {label}: {n} on {len(items)} items ({multi} on items with two or more)")

    if bright is not None:
        ranked = sorted(placements, key=lambda k: (bright[k], k))
        for n in range(4):
            part = ranked[n * len(ranked) // 4:(n + 1) * len(ranked) // 4]
            p, f = sum(placements[k][0] for k in part), sum(placements[k][1] for k in part)
            print(f"brightness quarter {n + 1} ({bright[part[0]]:.0f} to {bright[part[-1]]:.0f}): {len(part)} dresses, "
                  f"{p} placements, recall {f / p:.4f}, {p - f} missed")

    rng = random.Random(1)
    by_scene, by_item = [], []
    keys = list(placements)
    for _ in range(2000):
        pf = pn = 0
        for row in (scenes[rng.randrange(len(scenes))] for _ in scenes):
            pn += len(row)
            pf += sum(f for _, f in row)
        by_scene.append(pf / max(1, pn))
        pf = pn = 0
        for k in (keys[rng.randrange(len(keys))] for _ in keys):
            pn += placements[k][0]
            pf += placements[k][1]
        by_item.append(pf / max(1, pn))
    lo, hi = interval(by_scene)
    print(f"recall at {threshold}, 95% over 2,000 resamples of the scenes: [{lo:.4f}, {hi:.4f}] (width {hi - lo:.4f})")
    lo, hi = interval(by_item)
    print(f"recall at {threshold}, 95% over 2,000 resamples of the distinct dresses: [{lo:.4f}, {hi:.4f}] (width {hi - lo:.4f})")


def units(scandir, sets):
    """Per scene, matched once at every score (a box's match does not
    depend on the threshold, as in eval detect): its dresses as (item,
    score of the box found on it, 0 if none) and its false positives as
    (unit, score), unit being the (label, item) of the object the box
    lies on or None for the photograph alone."""
    out = {}
    for name, t, dets in load(scandir, sets):
        objs = t["objects"]
        matched, left = match_detections(dets, objs, 0)
        score = {i: d["score"] for d, i in matched}
        dresses = [(o["item"], score.get(i, 0.0)) for i, o in enumerate(objs) if o["class"] == 3]
        fps = []
        for d in left:
            i = nearest(d["box"], objs)
            fps.append(((objs[i]["label"], objs[i]["item"]) if i is not None else None, d["score"]))
        garments = [(o["label"], o["item"]) for o in objs if o["class"] != 3]
        out[(name, os.path.basename(t["image"]))] = (dresses, fps, garments)
    return out


def recall_at_max_fp(dress_scores, fp_scores, images, max_fp=0.1):
    """The recall at the lowest threshold with at most max_fp false
    positives per image: the dresses scored above the first false
    positive that threshold must leave out."""
    fp_scores = sorted(fp_scores, reverse=True)
    allowed = int(max_fp * images + 1e-9)
    cut = fp_scores[allowed] if allowed < len(fp_scores) else 0.0
    return sum(s > cut for s in dress_scores) / max(1, len(dress_scores))


def arm_units(scenes):
    """An arm's scores by unit: dress item -> its placements' scores;
    (label, item) -> its false positives' scores; the photograph's."""
    dress, fp, background = collections.defaultdict(list), collections.defaultdict(list), []
    for dresses, fps, _ in scenes.values():
        for item, sc in dresses:
            dress[item].append(sc)
        for unit, sc in fps:
            if unit is None:
                background.append(sc)
            else:
                fp[unit].append(sc)
    return dress, fp, background


def compare(scandir, basedir, sets):
    a, b = units(scandir, sets), units(basedir, sets)
    if a.keys() != b.keys():
        sys.exit("the two scans do not cover the same scenes")
    keys = sorted(a)
    images = len(keys)

    def scene_recall(arm, drawn):
        ds = [sc for k in drawn for _, sc in arm[k][0]]
        fs = [sc for k in drawn for _, sc in arm[k][1]]
        return recall_at_max_fp(ds, fs, len(drawn))

    ra, rb = scene_recall(a, keys), scene_recall(b, keys)
    print(f"{images} scenes: recall at <= 0.1 FP/image {ra:.4f} against {rb:.4f}, {ra - rb:+.4f}")
    dress_units = sorted({item for sc in a.values() for item, _ in sc[0]})
    garment_units = sorted({g for sc in a.values() for g in sc[2]})
    arms = [arm_units(a), arm_units(b)]

    def item_recall(arm, dress_draw, garment_draw):
        dress, fp, background = arm
        ds = [sc for u in dress_draw for sc in dress[u]]
        fs = list(background) + [sc for u in garment_draw for sc in fp.get(u, ())]
        fs += [sc for u in dress_draw for sc in fp.get(("Dress", u), ())]
        return recall_at_max_fp(ds, fs, images)

    check = item_recall(arms[0], dress_units, garment_units)
    if abs(check - ra) > 1e-12:
        sys.exit(f"item units do not add up to the scenes: {check} against {ra}")
    rng = random.Random(1)
    by_scene, by_item = [], []
    for _ in range(2000):
        drawn = [keys[rng.randrange(images)] for _ in keys]
        by_scene.append(scene_recall(a, drawn) - scene_recall(b, drawn))
        dd = [dress_units[rng.randrange(len(dress_units))] for _ in dress_units]
        gd = [garment_units[rng.randrange(len(garment_units))] for _ in garment_units]
        by_item.append(item_recall(arms[0], dd, gd) - item_recall(arms[1], dd, gd))
    for name, diffs in (("scenes", by_scene), ("items", by_item)):
        lo, hi = interval(diffs)
        med = sorted(diffs)[len(diffs) // 2]
        higher = sum(d > 0 for d in diffs) / len(diffs)
        print(f"difference over 2,000 resamples of the {name}: {med:+.4f} [{lo:+.4f}, {hi:+.4f}], higher in {higher:.1%}")


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
