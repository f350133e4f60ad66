"""lit configuration: every .mlir file under lit_tests/ is a test; `dfcc` and `filecheck` come from PATH."""

import os

import lit.formats

config.name = "dfcc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["inputs"]
config.environment["PATH"] = os.pathsep.join([os.path.dirname(os.sys.executable), os.environ.get("PATH", "")])
config.substitutions.append(("%examples", os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples")))
# a checkout under test may be put on the import path (e.g. a git worktree linked as `dfcc`)
if "PYTHONPATH" in os.environ:
    config.environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
