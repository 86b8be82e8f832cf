"""matexplore's built-in plugins, installed as the package ``matexplore_plugins``.

Each subpackage is one plugin, registered in pyproject.toml's ``matexplore`` entry-point
group exactly like a third-party plugin. Inside a plugin: ``__init__.py`` (hook
implementations), ``experiments.py`` (Experiment classes), ``theory.py`` (closed forms,
NumPy/SciPy) and ``kernels.py`` (numba), so theory and simulation are tested against each
other.
"""
