# jupyterhub-idle-culler configuration (--config): per-team idle timeouts.
c = get_config()  # noqa: F821  (provided by the culler when it loads this file)

from extensions.quota.culling import arbiter_from_environment  # noqa: E402

c.IdleCuller.cull_arbiter_hook = arbiter_from_environment()
