"""Serving stored photos: public copies and thumbnails to anyone, originals to staff."""
