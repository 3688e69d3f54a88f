"""Quota enforcement and per-team idle culling, run by the hub as managed services.

``python -m extensions.quota`` (service ``quota``): warns before, then stops, servers past
their team's max session length or whose member's or team's GPU-hour budget runs out.
``jupyterhub-idle-culler`` (service ``idle-culler``) with ``culler_config.py``: culls
servers idle longer than their team's idle timeout. Both audit what they stop."""
