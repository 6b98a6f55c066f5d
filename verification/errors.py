"""Domain errors of face verification: a stable ``code`` and a bilingual message."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "not_an_image": (
        "文件不是照片，请上传 JPEG 或 PNG 格式的照片。",
        "The file is not a photo; upload a JPEG or PNG.",
    ),
    "image_too_large": (
        "照片文件太大，请重新拍摄或压缩后上传。",
        "The photo file is too large; retake or compress it.",
    ),
    "image_too_many_pixels": (
        "照片分辨率过高，请使用手机相机的普通模式拍摄。",
        "The photo has too many pixels; use the phone camera's normal mode.",
    ),
    "truncated_image": ("照片文件不完整，请重新上传。", "The photo file is incomplete; upload it again."),
    "no_face": (
        "照片中没有找到人脸，请正对镜头，露出整张脸。",
        "No face was found; face the camera with your whole face visible.",
    ),
    "multiple_faces": (
        "照片中有多张人脸，请只让本人出现在画面中。",
        "More than one face is in the photo; only the pensioner should be in the picture.",
    ),
}


class VerificationError(Exception):
    """A photo that cannot be verified; ``code`` is stable, messages are for people."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown verification error code {code!r}")
        self.code = code
        self.message_zh, self.message_en = MESSAGES[code]
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class ModelFileError(RuntimeError):
    """A shipped model file is missing or altered: an installation fault, never the user's photo."""
