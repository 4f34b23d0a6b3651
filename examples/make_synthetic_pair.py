"""Render the bundled synthetic before/after pair (same scalp site, known changes).

``python examples/make_synthetic_pair.py`` rewrites ``synthetic_before.jpg``, ``synthetic_after.jpg`` and
``synthetic_pair.json`` (pixel size, the changes made and the transform) next to this file.

One large scene is rendered twice with the same seed (same skin, openings and artefacts): once as drawn
("before") and once with known edits ("after": some vellus hairs thickened to terminal, a few hairs lost,
a few new thin hairs). Each photo is a crop of its scene; the after crop is rotated and shifted as a
second visit's photo would be, so the app has to align the pair.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from densitometry import synthetic

HERE = Path(__file__).resolve().parent
UM_PER_PX = 6.0
SCENE_W, SCENE_H = 900, 720
CROP_W, CROP_H = 640, 480
ROTATION_DEG, SHIFT_PX = 4.0, (14.0, -9.0)  # after photo relative to before (cols, rows)
SEED = 1


def _edit(hairs, rng):
    thickened, lost, new = [], [], []
    out = []
    for hair in hairs:
        if hair.diameter_um < 45 and rng.random() < 0.6:
            thickened.append(hair.hair_id)
            out.append(dataclasses.replace(hair, diameter_um=float(rng.uniform(62, 80)), centre_opacity=1.0))
        elif rng.random() < 0.05:
            lost.append(hair.hair_id)
        else:
            out.append(hair)
    for hair in rng.choice(hairs, size=8, replace=False):
        offset = rng.uniform(-25, 25, size=2)
        new.append(hair.hair_id)
        out.append(
            dataclasses.replace(
                hair, centerline_px=hair.centerline_px + offset, diameter_um=float(rng.uniform(18, 28))
            )
        )
    return out, {"thickened_to_terminal": len(thickened), "lost": len(lost), "new_thin": len(new)}


def _crop(image, matrix):
    return cv2.warpAffine(
        image, matrix, (CROP_W, CROP_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def main():
    rng = np.random.default_rng(SEED)
    scene = synthetic.generate(
        "miniaturised", seed=SEED, width_px=SCENE_W, height_px=SCENE_H, um_per_px=UM_PER_PX
    )
    params = scene.params
    before = synthetic.render(params, seed=SEED, width_px=SCENE_W, height_px=SCENE_H, hairs=scene.hairs)
    after_hairs, changes = _edit(list(scene.hairs), rng)
    after = synthetic.render(params, seed=SEED, width_px=SCENE_W, height_px=SCENE_H, hairs=after_hairs)

    centre = (SCENE_W / 2, SCENE_H / 2)
    to_before = np.float32([[1, 0, CROP_W / 2 - centre[0]], [0, 1, CROP_H / 2 - centre[1]]])
    to_after = cv2.getRotationMatrix2D(centre, ROTATION_DEG, 1.0)
    to_after[:, 2] += (CROP_W / 2 - centre[0] + SHIFT_PX[0], CROP_H / 2 - centre[1] + SHIFT_PX[1])
    for name, photo, matrix in (("before", before, to_before), ("after", after, to_after)):
        bgr = cv2.cvtColor(_crop(photo.image, matrix), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(HERE / f"synthetic_{name}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    meta = {
        "um_per_px": UM_PER_PX,
        "scenario": "miniaturised",
        "seed": SEED,
        "scene_hairs_before": len(before.hairs),
        "scene_hairs_after": len(after.hairs),
        "changes": changes,
        "after_rotation_deg": ROTATION_DEG,
        "after_shift_px": list(SHIFT_PX),
        "note": "Hair counts are for the whole rendered scene; each photo is a 640x480 crop of it.",
    }
    (HERE / "synthetic_pair.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
