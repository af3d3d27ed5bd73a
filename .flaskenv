# Read by the `flask` CLI only (python-dotenv); real environment variables win.
FLASK_APP=wsgi
PREPBASE_ENV=development
