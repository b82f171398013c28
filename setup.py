"""Build hook: ship the top-level ``templates/`` folder inside the ``mailer`` package.

Everything else about the package lives in pyproject.toml. The templates stay at the top of the
repository (where designers look for them) and are copied to ``mailer/templates`` in every
build, so an installed (non-editable) package has them; a source checkout reads them in place.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTemplates(build_py):
    """build_py that also copies templates/ into the built package."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "templates"
        if source.is_dir() and not self.editable_mode:
            shutil.copytree(source, Path(self.build_lib) / "mailer" / "templates",
                            dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithTemplates})
