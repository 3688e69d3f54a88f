# AI Sandbox Hub: the product layer, the same on every image: applied by
# images/build_images.py (`make images`) on top of each image's runtime
# (images/<image>/Dockerfile) to make sandbox/<image>. It installs, from wheels the build
# script makes from this checkout (product/):
#   - the project package: the server extension (GET /user/<name>/api/sandbox/slice,
#     course pulls), enabled by the package's own data file
#     etc/jupyter/jupyter_server_config.d/sandbox_server.json; the notebook widgets;
#   - the prebuilt JupyterLab extension (status bar item, slice panel, course labs);
# then the entry point and the tutorials (SANDBOX_TUTORIALS). Build arguments:
#   RUNTIME        the image's runtime (sandbox-runtime/<image>:<key>)
#   SANDBOX_IMAGE  the image's name, as the hub offers it
ARG RUNTIME=sandbox-runtime/base:latest
FROM ${RUNTIME}

ARG SANDBOX_IMAGE=base

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

COPY product/ /opt/sandbox/product/
RUN pip install --no-cache-dir --no-deps /opt/sandbox/product/*.whl \
 && rm -rf /opt/sandbox/product \
 && pip check \
 && jupyter server extension list 2>&1 | grep "extensions.sandbox_server.*enabled" >/dev/null \
 && jupyter labextension list 2>&1 | grep "sandbox-labextension.*enabled.*OK" >/dev/null

COPY images/base/rootfs/ /
COPY notebooks/ /opt/sandbox/tutorials/
# The tutorials' helper package is importable from anywhere, also from a copy of a
# notebook that was moved out of the tutorials folder. install-packages records the
# sha256 of the models that the image's packages ship; the store checks them at load.
RUN python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'sandbox_tutorials.pth').write_text('/opt/sandbox/tutorials\n')" \
 && python -m sandbox_tutorials.store install-packages \
 && chmod -R a-w /opt/sandbox/tutorials

ENV SANDBOX_IMAGE=${SANDBOX_IMAGE}
# The server extension merges these into ~/tutorials at every start (copied at the first,
# later versions without overwriting the user's edits), as on every backend.
ENV SANDBOX_TUTORIALS=/opt/sandbox/tutorials
USER 1000
WORKDIR /home/jovyan
EXPOSE 8888
ENTRYPOINT ["tini", "-g", "--", "sandbox-start"]
CMD ["jupyterhub-singleuser"]
