"""Statistics pages: the dashboard and the PDF report to the People's Committee."""
