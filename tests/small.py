"""The smallest settings of each registered model, for tests that go over the registry."""

#: ``--set`` values (``KEY=VALUE``) that make each model small and fast
SMALL = {"gan": ["hidden=[16]", "latent=4"], "dcgan": ["width=4", "latent=4"],
         "nade": ["hidden=8"], "vae": ["latent=2", "hidden=[8]", "eval_samples=5"],
         "rnade": ["hidden=4", "components=2"], "mixture": ["components=2"], "ar": ["k=2"],
         "text2image": ["width=4", "latent=4", "embed=4", "text=4"],
         "aae": ["latent=2", "hidden=[16]"], "pixelrnn": ["hidden=4", "layers=1"],
         "cyclegan": ["width=4", "blocks=0"], "stargan": ["width=4", "blocks=0"],
         "puzzlegan": ["width=4", "embed=4", "latent=2"], "infogan": ["width=4"],
         "progan": ["width=4"]}

#: models of real-valued pixels (binary data are refused)
GREY = {"rnade"}


def small_config(name: str) -> dict:
    """:data:`SMALL` of ``name`` as keyword arguments."""
    import ast

    out = {}
    for item in SMALL.get(name, []):
        k, v = item.split("=", 1)
        try:
            out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k] = v
    return out
