"""The refiner network: a compact U-Net (Ronneberger et al. 2015) sized for CPU inference.

torch is imported only when a network is built or loaded, so ``import densitometry`` works without it.

References
----------
Ronneberger O., Fischer P., Brox T. (2015) U-Net: convolutional networks for biomedical image
segmentation. MICCAI, LNCS 9351.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError
from ._torch import RefinerUnavailableError, import_torch
from .config import OUTPUT_CHANNELS, RefinerConfig, sha256_of


def build_network(config: RefinerConfig):
    """A randomly initialised U-Net for ``config`` (a ``torch.nn.Module``, in eval mode).

    Input: float32 tensor (N, C_in, H, W) with H and W multiples of ``config.stride_px``.
    Output: logits (N, 2, H, W): hair, centreline.
    """
    torch = import_torch()
    nn = torch.nn

    def stage(c_in, c_out, n_convs):
        layers = []
        for k in range(n_convs):
            layers += [
                nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            ch, convs = config.channels, config.convs_per_level
            depth = len(ch) - 1
            self.down = nn.ModuleList(
                stage(len(config.input_channels) if k == 0 else ch[k - 1], ch[k], convs[k])
                for k in range(depth)
            )
            self.bottom = stage(ch[depth - 1], ch[depth], convs[depth])
            self.up = nn.ModuleList(
                nn.ConvTranspose2d(ch[k + 1], ch[k], 2, stride=2) for k in reversed(range(depth))
            )
            self.merge = nn.ModuleList(stage(2 * ch[k], ch[k], convs[k]) for k in reversed(range(depth)))
            self.head = nn.Conv2d(ch[0], len(OUTPUT_CHANNELS), 1)

        def forward(self, x):
            skips = []
            for block in self.down:
                x = block(x)
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
            x = self.bottom(x)
            for upsample, merge in zip(self.up, self.merge, strict=True):
                x = merge(torch.cat([upsample(x), skips.pop()], 1))
            return self.head(x)

    return UNet().eval()


def save_weights(network, path) -> str:
    """Save the network's state dict (tensors only) and return the file's SHA-256."""
    torch = import_torch()
    state = {key: value.detach().cpu() for key, value in network.state_dict().items()}
    torch.save(state, Path(path))
    return sha256_of(path)


def load_network(config: RefinerConfig, weights_path, *, device=None, check_sha256=True):
    """Build the network of ``config`` and load its weights safely (``torch.load(weights_only=True)``).

    Raises
    ------
    RefinerUnavailableError
        torch is missing, the weights file is missing, or its checksum does not match the config.
    ParameterError
        The weights do not fit the architecture in the config.
    """
    torch = import_torch()
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise RefinerUnavailableError(f"refiner weights not found at {weights_path}")
    if check_sha256 and config.weights_sha256 and sha256_of(weights_path) != config.weights_sha256:
        raise RefinerUnavailableError(
            f"refiner weights {weights_path} do not match the config (SHA-256 differs from "
            f"{config.weights_sha256[:12]}...): weights and config must come from the same training run"
        )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    network = build_network(config)
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise ParameterError(
            f"refiner weights {weights_path} do not fit the config's architecture: {error}"
        ) from None
    if device is not None:
        network = network.to(device)
    return network.eval()


def export_onnx(network, config: RefinerConfig, path) -> str:
    """Export ``network`` to ONNX (dynamic height/width) tagged with the weights' checksum and version.

    Returns the SHA-256 of the written file (store it as ``config.onnx_sha256``). Needs the ``onnx``
    package; the export is only used when its metadata matches the config (see `load_refiner`).
    """
    import io
    import warnings

    import onnx

    torch = import_torch()
    network = network.to("cpu").eval()
    buffer = io.BytesIO()
    example = torch.zeros(1, len(config.input_channels), 4 * config.stride_px, 4 * config.stride_px)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(
            network,
            (example,),
            buffer,
            input_names=["features"],
            output_names=["logits"],
            dynamic_axes={
                "features": {0: "batch", 2: "height", 3: "width"},
                "logits": {0: "batch", 2: "height", 3: "width"},
            },
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    for key, value in (("weights_sha256", config.weights_sha256), ("version", config.version)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return sha256_of(path)
