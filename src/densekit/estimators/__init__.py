"""scikit-learn estimators over densekit's training: DenseClassifier and DenseRegressor."""

from densekit.estimators.classifier import DenseClassifier
from densekit.estimators.regressor import DenseRegressor

__all__ = ["DenseClassifier", "DenseRegressor"]
