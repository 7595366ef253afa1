"""Statistics pages: the dashboard and the PDF report to the People's Committee."""
from . import exports  # noqa: F401  (registers the export and background-job routes on routes.bp)
