"""False hairs on a hairless scalp: the lowest density a photo can read.

    python benchmarks/hairless.py               # 4 photos per scenario, 960x720
    python benchmarks/hairless.py -n 8 --refine

Every scenario's own randomised skin, camera and artefacts (creases, flakes, glare, white specks, blur,
noise, JPEG) are rendered with no hair at all (``hair_density_per_cm2=0``: no follicular units, so no
openings either), seeds 3000 + i. Every hair counted there is false. Prints per scenario the hairs counted
in each photo and the false density (hairs per cm² of field, over all its photos): on a thinning scalp of
50-100 hairs/cm² this floor adds directly to the density read.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from densitometry import AnalysisParameters, analyze, synthetic

SEED_OFFSET = 3000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=4, help="photos per scenario")
    parser.add_argument("--size", type=int, nargs=2, default=(960, 720), metavar=("W", "H"))
    parser.add_argument("--scenario", nargs="*", default=list(synthetic.SCENARIOS))
    parser.add_argument("--refine", action="store_true", help="use the CNN refiner")
    args = parser.parse_args(argv)
    parameters = AnalysisParameters(refine=args.refine)
    total_hairs, total_cm2 = 0, 0.0
    print(f"{'scenario':<18}{'hairs counted per photo':<32}{'false /cm2':>11}")
    for scenario in args.scenario:
        counts, area_cm2 = [], 0.0
        for i in range(args.n):
            seed = SEED_OFFSET + i
            params = synthetic.scene_parameters(scenario, np.random.default_rng(seed))
            params = dataclasses.replace(params, hair_density_per_cm2=0.0)
            photo = synthetic.render(params, seed=seed, width_px=args.size[0], height_px=args.size[1])
            result = analyze(photo.image, um_per_px=photo.um_per_px, parameters=parameters)
            counts.append(result.hair_count)
            area_cm2 += result.field_area_cm2
        total_hairs += sum(counts)
        total_cm2 += area_cm2
        print(f"{scenario:<18}{str(counts):<32}{sum(counts) / area_cm2:>11.1f}")
    print(
        f"all: {total_hairs} false hairs on {total_cm2:.2f} cm², {total_hairs / total_cm2:.1f} per cm² "
        f"({'refined' if args.refine else 'classic'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
