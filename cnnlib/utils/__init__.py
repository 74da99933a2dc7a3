"""Tools around the library: numeric gradient checks, model summaries, segmentation metrics."""

from cnnlib.utils.gradcheck import gradcheck, numeric_gradient, rel_error
from cnnlib.utils.metrics import confusion_matrix, dice_score, jaccard_index
from cnnlib.utils.summary import summary

__all__ = [
    "gradcheck",
    "numeric_gradient",
    "rel_error",
    "summary",
    "confusion_matrix",
    "jaccard_index",
    "dice_score",
]
