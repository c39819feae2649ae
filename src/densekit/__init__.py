"""densekit: train, evaluate and predict with fully connected neural networks."""

from densekit.errors import DensekitError
from densekit.version import __version__
__all__ = ["Config", "DenseClassifier", "DenseRegressor", "DensekitError", "cross_validate",
           "evaluate", "export", "load", "resume", "summary", "train", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so `densekit --help` does not wait for PyTorch and scikit-learn.
    if name == "Config":
        from densekit.config import Config
        return Config
    if name in ("DenseClassifier", "DenseRegressor"):
        from densekit import estimators
        return getattr(estimators, name)
    if name == "export":   # densekit.export(RUN, output=None): the model as an ONNX file
        from densekit.exporting import export
        return export
    if name in ("cross_validate", "evaluate", "export", "load", "resume", "summary", "train"):
        from densekit import api
        return getattr(api, name)
    raise AttributeError(f"module 'densekit' has no attribute {name!r}")
