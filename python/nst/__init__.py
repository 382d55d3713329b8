# SPDX-License-Identifier: MIT
"""nst: neural style transfer (Gatys, Ecker & Bethge) on CPU and CUDA, from Python.

    import nst
    s = nst.Session(weights="weights/vgg19.safetensors")     # or "random" for tests
    image = s.run("content.jpg", "style.jpg", image_size=256, num_iterations=200)

The commands are the nst CLI's, run in this process: the same options (as keywords, underscores
for dashes), checks, pipeline and results. See README "Python" and docs/python_example.py.
"""
from . import _nst
from ._errors import EngineError, Error, InputError, UsageError
from ._session import Session

__version__ = _nst.__version__
__all__ = ["Session", "stylize", "video", "Error", "UsageError", "InputError", "EngineError"]

_nst._set_error_classes(Error, UsageError, InputError, EngineError)

_default_session = None


def _session():
    global _default_session
    if _default_session is None:
        _default_session = Session()
    return _default_session


def stylize(content, model=None, style=None, **options):
    """``nst stylize`` on one image with a module-wide session (models stay loaded); see
    Session.stylize."""
    return _session().stylize(content, model=model, style=style, **options)


def video(content, output, **options):
    """``nst video`` with a module-wide session; see Session.video."""
    return _session().video(content, output, **options)
