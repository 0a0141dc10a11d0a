"""Rebuild this sample teaching case set from FracAtlas (reproducible: no randomness).

    python resources/teaching/fracatlas-sample/make_caseset.py [--source ../shared/data/fracatlas-hand]

Picks, in manifest order, the first 6 fractured images that have fracture boxes and the
first 6 normal images, all single frontal or oblique views without hardware or multiple
views; resizes them to at most 800 px on the long side (the YOLO boxes are fractions of the
image, so they stay valid), writes them as greyscale JPEG (quality 85) named case01.jpg …
case12.jpg, and writes cases.csv (image, label, note, boxes). Attribution: ATTRIBUTION.md.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2].parent / "shared" / "data" / "fracatlas-hand"
N_PER_CLASS = 6
MAX_SIDE = 800
JPEG_QUALITY = 85


def pick(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    usable = [
        r
        for r in rows
        if r["hardware"] == "0"
        and r["multiscan"] == "0"
        and r["lateral"] == "0"
        and (r["frontal"] == "1" or r["oblique"] == "1")
    ]
    fractured = [r for r in usable if r["fractured"] == "1" and r["fracture_boxes_yolo"].strip()]
    normal = [r for r in usable if r["fractured"] == "0"]
    chosen = fractured[:N_PER_CLASS] + normal[:N_PER_CLASS]
    # interleave so the quiz does not show all fractures first
    order = [0, 6, 1, 7, 8, 2, 3, 9, 10, 4, 5, 11]
    return [chosen[i] for i in order]


def note_for(row: dict[str, str]) -> str:
    view = "frontal" if row["frontal"] == "1" else "oblique"
    if row["fractured"] == "1":
        n = len([b for b in row["fracture_boxes_yolo"].split(";") if b.strip()])
        return (
            f"Fracture ({view} view): {n} region(s) boxed by the FracAtlas annotators. "
            "Follow each cortex around the box."
        )
    return f"No fracture ({view} view, FracAtlas label): check each cortex is continuous, no lucent line or step."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    rows = pick(args.source / "manifest.csv")
    out_rows = []
    for i, row in enumerate(rows, start=1):
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
                "note": note_for(row),
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
