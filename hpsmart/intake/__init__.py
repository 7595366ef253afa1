"""Public intake: the citizens' report form, its confirmation page and the tracking page."""
