"""Rebuild this sample teaching case set from FracAtlas (reproducible: no randomness).

    python resources/teaching/fracatlas-sample/make_caseset.py [--source ../shared/data/fracatlas-hand]

Writes the 12 cases of :data:`CASES` (6 fractured with the annotators' boxes, 6 without,
interleaved), all single frontal or oblique wrist views without hardware: resized to at most
800 px on the long side (the YOLO boxes are fractions of the image, so they stay valid),
greyscale JPEG (quality 85) named case01.jpg … case12.jpg, and cases.csv (image, label, note,
boxes, source). Labels and boxes come from the manifest; each note was written for its image
after looking at it (issue 15 replaced a forearm with rings, an elbow in a cast and a whole
arm with wrist views), and says only what the label, the box and the picture support - the
rest is a question for the learner. Attribution: ATTRIBUTION.md.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2].parent / "shared" / "data" / "fracatlas-hand"
MAX_SIDE = 800
JPEG_QUALITY = 85

#: (FracAtlas image, teaching note), in case order.
CASES: tuple[tuple[str, str], ...] = (
    (
        "IMG0000019.jpg",
        "Left wrist, frontal. FracAtlas marks a fracture at the distal radius and ulna, just "
        "above the carpus. Follow both cortices of each bone through the box: where is the "
        "break or buckle? The other hand overlaps the lower image; do not let it distract you.",
    ),
    (
        "IMG0000049.jpg",
        "Right wrist and hand, frontal; FracAtlas label: no fracture. Use it to practise the "
        "normal: a smooth distal radial articular surface, intact radial and ulnar styloids, "
        "and three unbroken carpal arcs.",
    ),
    (
        "IMG0000351.jpg",
        "Wrist, frontal. The box sits on the distal radial metaphysis, just above the joint. "
        "Compare the radial and ulnar sides of the radius: is there a "
        "lucent line, a step or a bulge of the cortex?",
    ),
    (
        "IMG0000030.jpg",
        "Right hand and wrist, frontal; FracAtlas label: no fracture. Check the distal radius "
        "and ulna first, then each carpal bone's outline, then the metacarpal bases.",
    ),
    (
        "IMG0000031.jpg",
        "Wrist, oblique, fingers curled; FracAtlas label: no fracture. The oblique opens the "
        "scaphoid and the trapezium: trace the scaphoid's cortex all the way round.",
    ),
    (
        "IMG0000751.jpg",
        "Wrist, frontal. The box covers the distal radial metaphysis. Compare its texture with "
        "the shaft above: a band of sclerosis or a faint transverse line is easy to miss. "
        "Look at the ulnar styloid too.",
    ),
    (
        "IMG0000206.jpg",
        "Right wrist, frontal (a bracelet on the forearm). FracAtlas boxes the distal radius "
        "at the radiocarpal joint. Is the articular surface smooth, and is the radius shorter "
        "than you expect against the ulna?",
    ),
    (
        "IMG0000032.jpg",
        "Right hand and wrist, frontal; FracAtlas label: no fracture. Judge the radiocarpal "
        "and ulnar-side joint spaces and the carpal arcs before deciding.",
    ),
    (
        "IMG0000036.jpg",
        "Wrist, oblique, fingers curled; FracAtlas label: no fracture. Follow both "
        "cortices of the distal radius into the joint, then the scaphoid waist.",
    ),
    (
        "IMG0000207.jpg",
        "Oblique of a wrist with a bracelet, boxed at the distal radius (it appears to be the "
        "same wrist as the frontal case with the bracelet). Does the oblique show the fracture "
        "line better or worse than the frontal?",
    ),
    (
        "IMG0000319.jpg",
        "Wrist, frontal, a small and faint image. The box is on the distal radial metaphysis: "
        "raise the contrast (window or CLAHE) and look for an irregular transverse line.",
    ),
    (
        "IMG0000045.jpg",
        "Left hand and wrist, frontal; FracAtlas label: no fracture. A normal to compare "
        "with the fractured frontals: the distal radius cortex runs smoothly into the joint.",
    ),
)


def pick(manifest: Path) -> list[tuple[dict[str, str], str]]:
    """The manifest rows of :data:`CASES`, each with its note."""
    with open(manifest, encoding="utf-8", newline="") as fh:
        rows = {Path(r["image"]).name: r for r in csv.DictReader(fh)}
    return [(rows[name], note) for name, note in CASES]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    rows = pick(args.source / "manifest.csv")
    out_rows = []
    for i, (row, note) in enumerate(rows, start=1):
        image = cv2.imread(str(args.source / row["image"]), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise SystemExit(f"{args.source / row['image']}: cannot be read")
        scale = MAX_SIDE / max(image.shape)
        if scale < 1.0:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        name = f"case{i:02d}.jpg"
        cv2.imwrite(str(HERE / name), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        out_rows.append(
            {
                "image": name,
                "label": row["fractured"],
                "note": note,
                "boxes": row["fracture_boxes_yolo"].strip(),
                "source": Path(row["image"]).name,
            }
        )
    with open(HERE / "cases.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "label", "note", "boxes", "source"])
        writer.writeheader()
        writer.writerows(out_rows)
    print(f"{len(out_rows)} cases written to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
