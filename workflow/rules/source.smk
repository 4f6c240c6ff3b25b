# Where this workflow's own files are, wherever it is deployed from (this checkout, another
# folder, a module of someone else's workflow); its version checked against the installed
# package's; the config validated against the schema (defaults filled in). No rules here.

import os
import re
import sys
from pathlib import Path

from snakemake.sourcecache import LocalSourceFile
from snakemake.utils import validate

# This workflow's own folder (workflow/) when its files are local (a checkout, a module from a
# local path); None when Snakemake reads them from elsewhere (a module from github(...)).
_RULES_DIR = workflow.current_basedir
WORKFLOW_DIR = (
    Path(_RULES_DIR.get_path_or_uri(secret_free=False)).parent
    if isinstance(_RULES_DIR, LocalSourceFile)
    else None
)


def workflow_file(path):
    """A file of this workflow's own source by its path relative to workflow/ (remote files
    come through Snakemake's source cache)."""
    if WORKFLOW_DIR is not None:
        return str((WORKFLOW_DIR / path).resolve())
    return workflow.source_path(f"../{path}")


def package_source():
    """Where pip gets this workflow's own sparse_pkg: its local folder, or the git host and tag
    a module was deployed from (envs/sparse.post-deploy.sh installs it into the conda env).
    """
    if WORKFLOW_DIR is not None:
        return str(WORKFLOW_DIR.parent)
    ref = _RULES_DIR.tag or _RULES_DIR.commit or _RULES_DIR.branch
    return f"git+https://{_RULES_DIR.host or 'github.com'}/{_RULES_DIR.repo}@{ref}"


# Read by envs/sparse.post-deploy.sh when Snakemake builds the conda env.
os.environ.update(SPARSE_PKG_SOURCE=package_source())

# The rules call the installed package's commands: its version must be this workflow's (checked
# before anything else of the package is imported, which might not even exist in another one).
VERSION = re.search(
    r'__version__ = "([^"]+)"',
    Path(workflow_file("../sparse_pkg/__init__.py")).read_text(),
).group(1)
if sparse_pkg.__version__ != VERSION:
    sys.exit(
        f"error: this workflow is version {VERSION} but the installed sparse_pkg is "
        f"{sparse_pkg.__version__} ({Path(sparse_pkg.__file__).parent}); install version "
        f"{VERSION} (README.md, 'Deploying the workflow')"
    )

from sparse_pkg.cli import refuse  # one line naming the key at fault, exit 2
from sparse_pkg.config_check import config_error, config_file_error, load_schema

# Every config file Snakemake read: a duplicate key there would silently win (one line instead).
for configfile_path in workflow.configfiles:
    if problem := config_file_error(configfile_path):
        refuse(problem)

SCHEMA = workflow_file("schemas/config.schema.yaml")
if problem := config_error(config, load_schema(SCHEMA)):
    refuse(problem)
validate(config, SCHEMA)  # passes (checked above); fills in the schema's defaults
