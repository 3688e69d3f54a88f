"""Helpers the sandbox tutorials import: which slice am I on, the model store, synthetic
data sets, small widgets. Only standard-library imports at import time: each module
imports torch, transformers or ipywidgets itself, when it is used.

The notebooks find this package by walking up from their folder; in the images it is
also on sys.path through a .pth file (see images/base/Dockerfile).
"""

__all__ = ["audio", "clauses", "lab", "results", "slices", "store", "textures", "tiny", "xray"]
