"""Markdown as Obsidian reads it: bytes -> `Note` (`parse`, with `scan` for the body), chunks and
summaries (`digest`), and link resolution over a set of paths (`resolve`).

Pure functions over text: no files, no SQL; imports nothing of companion but `errors`.
"""
