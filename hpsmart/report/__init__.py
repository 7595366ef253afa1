"""One report in the shared inbox: its page (or panel), workflow actions, notes, presence."""
