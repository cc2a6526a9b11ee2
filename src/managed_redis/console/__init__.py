"""The web console's static files (index.html, console.css, app.js, pages/*.js), served by
``api/console_pages.py`` at ``/console/``. No Python here: the folder is a package so that
its files ship in the wheel (``[tool.setuptools.package-data]`` in pyproject.toml)."""
