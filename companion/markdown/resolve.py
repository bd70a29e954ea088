"""Obsidian's link resolution over the set of vault file paths (obsidian-rules.md §2).

`Resolver(paths)` indexes every vault-relative file path once; `resolve(linkpath, source)` then
answers which file a link's path part points at, the way Obsidian's `getFirstLinkpathDest` does:

1. Case-insensitive and Unicode-normalised: both sides go through `_norm` (NFC, then `casefold()`).
2. An exact vault-relative path wins (`[[b/Note]]` is `b/Note.md` when it exists).
3. Otherwise a candidate in the source note's own folder wins (parents give no preference).
4. Otherwise the shortest path string wins; equal lengths are broken by the lexicographic order of
   the normalised path (then of the on-disk path) and the result is flagged `ambiguous` (**ours**:
   Obsidian's pick is not stable).

A candidate is a file whose normalised path equals the link or ends with `"/" + link` (path-suffix
matching at folder boundaries only: `b/Note` finds `a/b/Note.md`, never `ab/Note.md`). A leading `/`
is ignored. `./x` and `../x` are joined to the source's folder and only that exact path counts: no
vault-wide fallback. The empty link (`[[#Heading]]`) is the source itself. Aliases never resolve:
the resolver only knows paths.

`.md` is optional, so a link has two spellings, the literal one and one with `.md` appended.
**Ours**: the spellings are tried one after the other, each through all the rules above, and the
first that finds anything decides. When the link's final name has an extension-like dot (`Note.md`,
`diagram.png`, `v1.2`) the literal spelling goes first, so `[[Note.md]]` is `Note.md` even where a
`Note.md.md` exists, and `[[diagram.png]]` is the picture, not a note `diagram.png.md`; otherwise
(`[[Note]]`) the note `Note.md` goes first, ahead of an extensionless file named `Note`.

Speed: construction is O(n) (two dicts); a bare-name link costs a few dict lookups plus the first
element of a candidate bucket that is sorted once, lazily, on its first use; a folder-qualified link
that is not an exact path scans its bucket (O(candidates)). The resolver is read-only after
construction, so it can be shared between threads (a lazily sorted bucket is swapped in whole).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resolution:
    target: str | None  # vault-relative path as on disk, or None when unresolved
    ambiguous: bool  # several candidates tied on the deciding rule (ours: lexicographic pick)


_UNRESOLVED = Resolution(None, False)

# One indexed file: (length used by the "shortest path" rule, normalised path, on-disk path).
# Tuples, not objects: 100k of them are built per vault and compared while sorting.
_Entry = tuple[int, str, str]


def _norm(s: str) -> str:
    """The matching form of a path: NFC then case-folded. ASCII skips the (costly) NFC call."""
    if s.isascii():
        return s.lower()  # same as casefold() for ASCII, and faster
    return unicodedata.normalize("NFC", s).casefold()


def _split(npath: str) -> tuple[str, str]:
    """(folder, name) of a normalised path; the folder of a root file is ""."""
    folder, _, name = npath.rpartition("/")
    return folder, name


class Resolver:
    """Answers `resolve(linkpath, source)` for one fixed set of vault paths (notes, attachments)."""

    __slots__ = ("_by_name", "_by_path", "_last_source", "_sorted")

    def __init__(self, paths: Iterable[str]) -> None:
        # Normalised full path -> on-disk paths. More than one only when two files differ in case or
        # Unicode form alone (possible on Linux), which makes even an exact hit ambiguous.
        self._by_path: dict[str, list[str]] = {}
        # Normalised file name (extension included) -> every file with that name.
        self._by_name: dict[str, list[_Entry]] = {}
        self._sorted: set[str] = set()
        # Callers resolve a note's links one after another: remember the last source's folder.
        # One tuple, replaced whole, so a concurrent reader never sees half of it.
        self._last_source: tuple[str, str] = ("", "")
        for path in paths:
            npath = _norm(path)
            self._by_path.setdefault(npath, []).append(path)
            # Length is measured on the NFC on-disk spelling, not the case-folded one: folding can
            # change lengths ("ß" -> "ss") and Obsidian compares the paths it sees.
            length = len(path) if path.isascii() else len(unicodedata.normalize("NFC", path))
            self._by_name.setdefault(_split(npath)[1], []).append((length, npath, path))

    def resolve(self, linkpath: str, source: str) -> Resolution:
        """Resolve the path part of a link (no `#subpath`, no `|display`) written in `source`."""
        if linkpath == "":
            return Resolution(source, False)
        link = _norm(linkpath)
        last = self._last_source
        if last[0] == source:
            src_folder = last[1]
        else:
            src_folder = _split(_norm(source))[0]
            self._last_source = (source, src_folder)
        if link.startswith(("./", "../")) or link in (".", ".."):
            return self._resolve_relative(link, src_folder)
        link = link.lstrip("/")
        if not link or link.endswith("/"):
            return _UNRESOLVED
        for spelling in _spellings(link):
            found = self._resolve_spelling(spelling, src_folder)
            if found is not None:
                return found
        return _UNRESOLVED

    # -- internals ---------------------------------------------------------------------------------

    def _resolve_relative(self, link: str, src_folder: str) -> Resolution:
        if link.rpartition("/")[2] in ("", ".", ".."):
            return _UNRESOLVED  # names a folder, not a file
        parts = src_folder.split("/") if src_folder else []
        for seg in link.split("/"):
            if seg in ("", "."):
                continue
            if seg == "..":
                if not parts:
                    return _UNRESOLVED  # climbs out of the vault
                parts.pop()
            else:
                parts.append(seg)
        joined = "/".join(parts)
        for spelling in _spellings(joined):
            hit = self._by_path.get(spelling)
            if hit:
                return _pick_same_path(hit)
        return _UNRESOLVED

    def _resolve_spelling(self, link: str, src_folder: str) -> Resolution | None:
        # Rule 2: exact vault-relative path.
        hit = self._by_path.get(link)
        if hit:
            return _pick_same_path(hit)
        folder, name = _split(link)
        bucket = self._bucket(name)
        if not bucket:
            return None
        # Rule 3: the source's own folder. The candidate there can only be `src_folder/name`, and it
        # must still end with the link at a folder boundary (`[[b/Note]]` from `a/b/` qualifies).
        if not folder or src_folder == folder or src_folder.endswith("/" + folder):
            own = self._by_path.get(f"{src_folder}/{name}" if src_folder else name)
            if own:
                return _pick_same_path(own)
        # Rule 4: shortest path, then lexicographic; the bucket is sorted in exactly that order, so
        # the first match is the winner and a second match of the same length makes it ambiguous.
        suffix = "/" + link
        best: _Entry | None = None
        for entry in bucket:
            if best is not None and entry[0] > best[0]:
                break
            if folder and not entry[1].endswith(suffix):
                continue  # a bare name matches every file in its bucket
            if best is not None:
                return Resolution(best[2], True)
            best = entry
        return None if best is None else Resolution(best[2], False)

    def _bucket(self, name: str) -> list[_Entry]:
        bucket = self._by_name.get(name)
        if bucket is None:
            return []
        if name not in self._sorted:
            # Sorted on first use only, which keeps construction O(n). Assign a new list rather than
            # sorting in place: another thread may be iterating the old one.
            bucket = sorted(bucket)
            self._by_name[name] = bucket
            self._sorted.add(name)
        return bucket


def _spellings(link: str) -> tuple[str, str]:
    """The two readings of a link, in the order they are tried (see the module docstring)."""
    name = link.rpartition("/")[2]
    if "." in name.lstrip("."):
        return link, link + ".md"
    return link + ".md", link


def _pick_same_path(hits: list[str]) -> Resolution:
    """Files sharing one normalised path differ only in case/Unicode form: lexicographic pick."""
    if len(hits) == 1:
        return Resolution(hits[0], False)
    return Resolution(min(hits), True)


def name_key(path: str) -> str:
    """The normalised last name of a link path or file path, one `.md` dropped.

    A link can only change what it resolves to when a file with the same key appears or goes, so
    the index stores this key with every link and re-resolves just those links (see sync/reconcile.py).
    """
    name = _norm(path.strip().rstrip("/").rpartition("/")[2])
    return name[:-3] if name.endswith(".md") else name


def keys_for_file(path: str) -> set[str]:
    """Every link key that could resolve to `path` (`Note.md.md` is reached by `[[Note.md]]` too)."""
    key = name_key(path)
    return {key, key[:-3]} if key.endswith(".md") else {key}
