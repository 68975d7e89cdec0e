"""Package discovery for the one distribution: the top folders import as appliedrl.<folder>, and every subpackage
below them is found here, so a new one cannot be forgotten (pyproject.toml holds everything else)."""

from setuptools import find_packages, setup

FOLDERS = {"appliedrl": "appliedrl", "appliedrl.envs": "envs", "appliedrl.agents": "agents",
           "appliedrl.domains": "domains", "appliedrl.data": "data"}

setup(package_dir=FOLDERS,
      packages=[*FOLDERS, *(f"{name}.{sub}" for name, folder in FOLDERS.items() if name != "appliedrl"
                            for sub in find_packages(folder))])
