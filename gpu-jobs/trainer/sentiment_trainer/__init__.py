"""Tuning and training job of the sentiment pipeline: PyTorch fine-tuning, Optuna search, ONNX export."""

__version__ = "0.1.0"
