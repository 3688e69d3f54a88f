"""AI Sandbox Hub's JupyterLab extension, shipped prebuilt (see ../build.sh)."""

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "sandbox-labextension"}]
