"""Where the app's own files are: templates, static files, migrations, the instance folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
MIGRATIONS = ROOT / "migrations"
INSTANCE = ROOT / "instance"
