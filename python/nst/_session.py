# SPDX-License-Identifier: MIT
"""nst.Session: weights and models loaded once, the CLI's commands run in this process."""
from . import _nst
from ._options import Arguments, is_array

# Commands that take --backend/--gpu. nst stylize knows only cpu and cuda (default cpu), so
# "auto" leaves its option out.
_BACKEND_COMMANDS = {"run", "eval", "features", "stylize", "video"}


class Session:
    """Runs nst's commands in this process, keeping weights and models loaded between calls.

    ``weights``: a VGG19 safetensors file, ``"random"`` or ``"random:SEED"`` (None: the CLI's
    default, ``weights/vgg19.safetensors``). ``backend``: ``"auto"``, ``"cpu"`` or ``"cuda"``;
    ``gpu``: the CUDA device index. Every method takes the CLI's options as keywords.
    The GIL is released while a command runs; one command runs at a time per session.
    """

    def __init__(self, weights=None, backend="auto", gpu=0):
        self.weights = weights
        self.backend = backend
        self.gpu = gpu
        self._native = _nst.Session()

    def _arguments(self, command, uses_weights=True):
        a = Arguments(command)
        if uses_weights:
            a.add("weights", self.weights)
        if command in _BACKEND_COMMANDS:
            if not (command == "stylize" and self.backend == "auto"):
                a.add("backend", self.backend)
            a.add("gpu", self.gpu)
        return a

    def run(self, content, style, callback=None, **options):
        """Style transfer (``nst run``). Returns the image as an (H, W, 3) float32 array in [0, 1],
        exactly what ``--output`` receives (also written when ``output=`` is given).

        ``content``, ``style`` (one or a list), ``init`` and mask options take paths or arrays:
        (H, W, 3) / (1, 3, H, W) / (3, H, W) float32 RGB in [0, 1], uint8 0..255, or grey (H, W).
        ``callback(iteration, terms, seconds)`` is called after every iteration with the weighted
        terms ``{"content", "style", "tv", "total"}``; returning False stops the run (the image
        so far is returned). Iterations count from 1 across ``scales`` stages.
        """
        a = self._arguments("run").add("content", content)
        a.add("style", list(style) if isinstance(style, (list, tuple)) else [style])
        a.add_all(options)
        return self._native.run(a.args, a.arrays, callback)

    def evaluate(self, image, content, style, **options):
        """The objective at one point (``nst eval``): returns ``(terms, gradient)``, terms as the
        CLI's JSON ``{"content": {layer: v}, "style": {layer: v}, "tv": v, "total": v}`` and the
        gradient d total / d x as (1, 3, H, W) float32 in network space.

        ``image``: a path (an image, resized to the content size, or a network-space .npy), or an
        array: a (1, 3, H, W) float32 array is x in network space (like a .npy; e.g. a previous
        ``x - lr * gradient``), any other image layout is an RGB image.
        """
        a = self._arguments("eval")
        a.add("image", image, ".npy" if is_array(image) and len(getattr(image, "shape", ())) == 4 else ".png")
        a.add("content", content)
        a.add("style", list(style) if isinstance(style, (list, tuple)) else [style])
        a.add_all(options)
        return self._native.evaluate(a.args, a.arrays)

    def features(self, image, layers, **options):
        """Activations at the named layers (``nst features``): {layer: (1, C, H, W) float32}.
        ``image``: a path or an RGB image array; ``layers``: a list or comma string."""
        return self._features(image, layers, False, options)[0]

    def gram(self, image, layers, **options):
        """Gram matrices at the named layers, normalised as ``preset`` defines them:
        {layer: (C, C) float32}."""
        return self._features(image, layers, True, options)[1]

    def _features(self, image, layers, gram, options):
        a = self._arguments("features")
        a.add("image", image).add("layers", layers).add("gram", gram)
        a.add("out_dir", "(in memory)")  # required by the command's parser; unused in process
        a.add_all(options)
        return self._native.features(a.args, a.arrays)

    def stylize(self, content, model=None, style=None, **options):
        """A feed-forward, AdaIN or WCT model (``nst stylize``) on one image: (H, W, 3) float32.
        ``model``: the model file (nst train's, or a converted checkpoint); ``style``: style
        image(s) for arbitrary-style models. The model stays loaded for the next call."""
        a = self._arguments("stylize", uses_weights=False).add("content", content).add("model", model)
        if style is not None:
            a.add("style", list(style) if isinstance(style, (list, tuple)) else [style])
        a.add_all(options)
        return self._native.stylize(a.args, a.arrays)

    def video(self, content, output, **options):
        """``nst video`` on files: ``content`` a video file or folder of frames, ``output`` likewise."""
        a = self._arguments("video").add("content", content).add("output", output)
        a.add_all(options)
        self._native.command(a.args, a.arrays)
