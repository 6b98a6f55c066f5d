"""verification package."""

import warnings

# face_recognition_models (the dlib model files) still imports pkg_resources, which warns on every CLI call;
# only that one warning is silenced, where the package is first imported (verification.face).
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
