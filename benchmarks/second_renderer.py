"""Accuracy on photos from a second, independent renderer: does the analyzer generalise?

    python benchmarks/second_renderer.py            # 20 photos per scene, 960x720
    python benchmarks/second_renderer.py -n 5 --refine

Every other benchmark renders its photos with `densitometry.synthetic`, the generator the analyzer was
developed against, so its figures may flatter the analyzer. This one draws scalp photos in a different,
much plainer way that shares no code with the generator: hairs are anti-aliased OpenCV strokes along
quadratic Bezier curves (drawn at 4x and averaged down), blended over flat skin with smooth texture and
vignetting, then blurred, noised and JPEG-compressed. Scale 3-9 µm/px, 60-250 hairs/cm², 70 % terminal
(60-100 µm), 20 % intermediate, 10 % vellus (15-30 µm). Two scenes: ``clipped`` (0.3-1 mm shafts in
every direction, as in a phototrichogram) and ``long`` (1-6 mm shafts flowing one way and crossing).

The truth diameter of a stroke is its drawn coverage (an OpenCV line of thickness t covers about t + 1.4
px), so the diameter error is the analyzer's, not the renderer's. A hair counts when at least 150 µm of it
lies inside the photo, as in the analyzer. Prints per scene the median |count error| %, its median sign,
the mean |mean-diameter error| µm and the median |density error| %.

``--white-hair`` draws grey-white hair (neutral, 170-235) instead of dark, ``--blond-hair`` blond hair (red
170-230, green 135-190, blue 80-135: as bright as the skin or darker, always less blue; each channel keeps
its own noise, unlike the generator's shared noise), ``--dark-skin`` the skin at
0.4 of its brightness, and ``--polarity`` forces the reading; the last two columns count the photos
read bright and those flagged with the quality warning that suggests reading them bright.

``--framed`` shows each photo through a contact dermatoscope's round field: a disc 0.35-0.6 of the
shorter side in radius, off centre, with a soft rim (1-5 px) and a dark, noisy surround. The truth field is
then the disc less the thickest hair's width (150 µm), as the analyzer defines its field (see
`densitometry.preprocess.field_of_view`): hairs count with 150 µm inside it, density is over its area.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

SUPERSAMPLE = 4
MIN_LENGTH_UM = 150.0
#: The analyzer's default thickest hair: its field of view is a round field less this margin.
MAX_DIAMETER_UM = 150.0
SCENES = ("clipped", "long")


def stroke_width_px(thickness):
    """Width (supersampled px) that an anti-aliased OpenCV line of ``thickness`` actually covers."""
    canvas = np.zeros((4 * thickness + 16, 64), np.uint8)
    row = canvas.shape[0] // 2
    cv2.line(canvas, (8, row), (56, row), 255, thickness, cv2.LINE_AA)
    return float(canvas[:, 32].sum()) / 255.0


def render(
    seed, scene, size=(960, 720), *, framed=False, white_hair=False, dark_skin=False, blond_hair=False
):
    """One photo: (RGB uint8 image, µm per px, true hair count, true mean diameter µm, field area cm²)."""
    rng = np.random.default_rng(seed)
    width, height = size
    um_per_px = rng.uniform(3.0, 9.0)
    field_cm2 = width * height * (um_per_px * 1e-4) ** 2
    rows, cols = np.mgrid[0:height, 0:width]
    disc = None
    if framed:  # its own random stream: the framed photo shows the same scalp as the plain one
        framing = np.random.default_rng([seed, 1])
        radius_px = framing.uniform(0.35, 0.6) * min(width, height)
        centre = np.array([width, height]) / 2 + framing.uniform(-0.15, 0.15, 2) * min(width, height)
        rim_blur_px, surround = framing.uniform(1.0, 5.0), framing.uniform(0.0, 25.0)
        disc = np.hypot(cols - centre[0], rows - centre[1]) <= radius_px
        field_radius_px = radius_px - MAX_DIAMETER_UM / um_per_px
        in_field = np.hypot(cols - centre[0], rows - centre[1]) <= field_radius_px
        field_cm2 = float(in_field.sum()) * (um_per_px * 1e-4) ** 2
    density_per_cm2 = rng.uniform(60.0, 250.0)
    # Long hairs rooted outside the field also cross it: draw more, the truth counts what shows.
    drawn = rng.poisson(density_per_cm2 * field_cm2 * (1.6 if scene == "long" else 1.0))
    skin = np.array([rng.uniform(170, 235), rng.uniform(130, 200), rng.uniform(110, 180)])
    if dark_skin:
        skin *= 0.4
    vignette = 1.0 - rng.uniform(0.1, 0.35) * ((rows - height / 2) ** 2 + (cols - width / 2) ** 2) / (
        (height / 2) ** 2 + (width / 2) ** 2
    )
    texture = cv2.GaussianBlur(rng.normal(0.0, 1.0, (height, width)), (0, 0), rng.uniform(2.0, 5.0))
    texture *= rng.uniform(0.02, 0.06) / texture.std()
    image = (skin * (vignette * (1.0 + texture))[..., None]).astype(np.float32)
    hair_rgb = np.array([rng.uniform(20, 90), rng.uniform(15, 65), rng.uniform(10, 45)], np.float32)
    if white_hair:
        hair_rgb = np.full(3, rng.uniform(170, 235), np.float32)
    if blond_hair:
        hair_rgb = np.array([rng.uniform(170, 230), rng.uniform(135, 190), rng.uniform(80, 135)], np.float32)
    flow = rng.uniform(0.0, np.pi)
    diameters_um = []
    t = np.linspace(0.0, 1.0, 200)[:, None]
    for _ in range(drawn):
        kind = rng.choice(3, p=[0.7, 0.2, 0.1])
        diameter_um = (rng.uniform(60, 100), rng.uniform(30, 60), rng.uniform(15, 30))[kind]
        if scene == "long":
            length_px = rng.uniform(1000, 6000) / um_per_px
            angle = flow + rng.normal(0.0, 0.5)
        else:
            length_px = rng.uniform(300, 1000) / um_per_px
            angle = rng.uniform(0.0, np.pi)
        start = np.array([rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.1, 1.1) * height])
        end = start + length_px * np.array([np.cos(angle), np.sin(angle)])
        bend = (start + end) / 2 + rng.normal(0.0, 0.1 * length_px, 2)
        points = (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t**2 * end  # (x, y)
        inside = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
        if disc is not None:
            inside &= np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1]) <= field_radius_px
        visible_um = float((np.hypot(*np.diff(points, axis=0).T) * inside[1:]).sum()) * um_per_px
        thickness = max(1, round(SUPERSAMPLE * diameter_um / um_per_px - 1.4))
        coverage = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), np.uint8)
        polyline = np.round(points * SUPERSAMPLE).astype(np.int32)
        cv2.polylines(coverage, [polyline], False, 255, thickness, cv2.LINE_AA)
        alpha = cv2.resize(coverage, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        alpha *= rng.uniform(0.75, 0.95)
        image = image * (1.0 - alpha[..., None]) + hair_rgb * alpha[..., None]
        if visible_um >= MIN_LENGTH_UM:
            diameters_um.append(stroke_width_px(thickness) / SUPERSAMPLE * um_per_px)
    if disc is not None:
        weight = cv2.GaussianBlur(disc.astype(np.float32), (0, 0), rim_blur_px)[..., None]
        image = image * weight + (surround + framing.normal(0.0, 3.0, image.shape)) * (1.0 - weight)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    image += rng.normal(0.0, rng.uniform(2.0, 6.0), image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    quality = int(rng.uniform(70, 95))
    _, jpeg = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    image = np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])
    mean_diameter_um = float(np.mean(diameters_um)) if diameters_um else float("nan")
    return image, um_per_px, len(diameters_um), mean_diameter_um, field_cm2


def _evaluate(job):
    scene, seed, refine, framed, white_hair, dark_skin, blond_hair, polarity = job
    import densitometry

    image, um_per_px, true_count, true_diameter_um, field_cm2 = render(
        seed, scene, framed=framed, white_hair=white_hair, dark_skin=dark_skin, blond_hair=blond_hair
    )
    result = densitometry.analyze(image, um_per_px=um_per_px, refine=refine, polarity=polarity)
    flagged = any("polarity='bright'" in warning for warning in result.quality_warnings)
    return (
        scene,
        true_count,
        result.hair_count,
        true_diameter_um,
        result.mean_diameter_um,
        true_count / field_cm2,
        result.density_per_cm2,
        result.polarity.value == "bright",
        flagged,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=20, help="photos per scene (default 20)")
    parser.add_argument("--refine", action="store_true", help="use the CNN refiner")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--framed", action="store_true", help="through a dermatoscope's round field")
    colour = parser.add_mutually_exclusive_group()
    colour.add_argument("--white-hair", action="store_true", help="grey-white hair (170-235) instead of dark")
    colour.add_argument("--blond-hair", action="store_true", help="blond hair instead of dark")
    parser.add_argument("--dark-skin", action="store_true", help="skin at 0.4 of the usual brightness")
    parser.add_argument("--polarity", default="auto", choices=("auto", "dark", "bright"))
    args = parser.parse_args(argv)
    jobs = [
        (
            scene,
            seed,
            args.refine,
            args.framed,
            args.white_hair,
            args.dark_skin,
            args.blond_hair,
            args.polarity,
        )
        for scene in SCENES
        for seed in range(args.n)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_evaluate, jobs))
    header = f"{'scene':<9}{'photos':>7}{'|count err| %':>15}{'signed %':>10}{'|diam err| um':>15}"
    print(header + f"{'|density err| %':>17}{'read bright':>13}{'flagged':>9}")
    for scene in SCENES:
        rows = np.array([row[1:] for row in results if row[0] == scene], dtype=float)
        count_errors = 100.0 * (rows[:, 1] - rows[:, 0]) / np.maximum(rows[:, 0], 1.0)
        diameter_errors = np.abs(rows[:, 3] - rows[:, 2])
        density_errors = 100.0 * np.abs(rows[:, 5] - rows[:, 4]) / np.maximum(rows[:, 4], 1e-9)
        print(
            f"{scene:<9}{len(rows):>7}{np.median(np.abs(count_errors)):>15.1f}"
            f"{np.median(count_errors):>+10.1f}{np.nanmean(diameter_errors):>15.1f}"
            f"{np.median(density_errors):>17.1f}{int(rows[:, 6].sum()):>13d}{int(rows[:, 7].sum()):>9d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
