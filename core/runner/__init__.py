"""pyrunner's runner: the Python that runs inside the sandbox around the user's code.

The modules of this package are embedded into the binary at build time (cmake/embed_python.cmake)
and registered as `_pyrunner.<module>` before anything else runs; tests import them from here.
"""
