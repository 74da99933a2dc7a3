"""Tools around the library: numeric gradient checks and model summaries."""

from cnnlib.utils.gradcheck import gradcheck, numeric_gradient, rel_error
from cnnlib.utils.summary import summary

__all__ = ["gradcheck", "numeric_gradient", "rel_error", "summary"]
