"""Small runnable scripts: ``python -m cnnlib.examples.<name>``."""
