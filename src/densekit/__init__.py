"""densekit: train, evaluate and predict with fully connected neural networks."""

from densekit.api import evaluate, load, resume, train
from densekit.config import Config
from densekit.errors import DensekitError

__version__ = "0.1.0"
__all__ = ["Config", "DensekitError", "evaluate", "load", "resume", "train", "__version__"]
