"""The Textual terminal UI: browse experiments, run them live, replay and rerun sessions.

Only :mod:`matexplore.tui.app` is imported by the CLI; it pulls in the rest lazily enough
that the browser appears before any numerical plugin code is compiled.
"""
