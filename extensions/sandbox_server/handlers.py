from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from tornado import web

from .slice_info import slice_info


class SliceHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(slice_info(nvml_reader=self.settings.get("sandbox_nvml_reader"))))
