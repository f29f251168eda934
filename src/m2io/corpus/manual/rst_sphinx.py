"""Turn what plain docutils cannot read in Sphinx sources into ordinary doctree nodes.

docutils does not know Sphinx's directives and roles. It keeps going (with ``halt_level`` 5) and
leaves, in place of an unknown directive or one given a Sphinx-only option, a ``system_message``
holding the directive's source text, and in place of an unknown role or substitution a
``problematic`` node holding its source. This module rewrites those nodes after parsing, so no
directive or role is registered in docutils' global tables and any unknown one is covered:

- directives (by name, a domain prefix such as ``py:`` ignored): ``toctree``, ``index``,
  ``highlight``, ``literalinclude``, ``include``, autodoc and autosummary, ``tabularcolumns``,
  ``rst-class``, ``todo`` ... are dropped; ``code-block``, ``sourcecode``, ``doctest`` ... become a
  literal block of their body; ``versionadded``/``versionchanged``/``deprecated``/``seealso`` a
  paragraph "New in version 2.0: ..." and their body; ``centered`` its text; API descriptions
  (``function``, ``py:class``, ``option``, ``confval`` ...) their signature as a literal and
  their body; tabs, dropdowns and cards their title and body; anything else (``only``,
  ``hlist``, ``glossary``, unknown ones) its body, parsed again as reStructuredText in a
  container;
- roles render as their display text: ``:ref:`Title <label>``` -> "Title" (a bare label takes
  the title of the section it labels in this document), ``:doc:`a/b``` -> "b",
  ``:func:`~pkg.mod.run``` -> "run()", ``:menuselection:`File --> Open``` -> "File > Open",
  ``:guilabel:`&Save``` -> "Save", ``:file:`{name}.txt``` -> "name.txt"; unknown roles show
  their text; undefined substitutions show their name (or ``version``/``release`` when given);
- every other system message is removed, keeping the literal text it quotes when that is
  content (a malformed table), so no "System Message" or "Unknown directive" text remains.

>>> from docutils.core import publish_doctree
>>> settings = {"report_level": 5, "halt_level": 5, "warning_stream": False}
>>> src = ".. versionadded:: 2.0 Layers can be locked.\\n\\nPress :kbd:`Ctrl+L` via :menuselection:`Layer --> Lock`."
>>> doc = publish_doctree(src, settings_overrides=settings)
>>> repair_doctree(doc, lambda text: publish_doctree(text, settings_overrides=settings).children)
>>> [p.astext() for p in doc.children]
['New in version 2.0: Layers can be locked.', 'Press Ctrl+L via Layer > Lock.']
"""
from __future__ import annotations

import re
import textwrap
from typing import Callable

from docutils import nodes

Reparse = Callable[[str], list[nodes.Node]]

DROP = {
    "toctree", "index", "highlight", "literalinclude", "include", "tabularcolumns", "rst-class", "cssclass",
    "todo", "todolist", "autosummary", "automodule", "autoclass", "autofunction", "automethod", "autoattribute",
    "autodata", "autoexception", "autoprogram", "autoclasstree", "currentmodule", "module", "program",
    "codeauthor", "sectionauthor", "moduleauthor", "default-domain", "plot", "graphviz", "digraph",
    "inheritance-diagram",
    "meta", "raw", "bibliography", "youtube", "video", "jinja", "exec", "spelling",
}
LITERAL = {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "testsetup", "productionlist",
           "ipython", "jupyter-execute", "prompt", "code-tab", "parsed-literal", "highlight-block"}
LABELLED = {"versionadded": "New in version", "versionchanged": "Changed in version",
            "deprecated": "Deprecated since version", "versionremoved": "Removed in version", "seealso": "See also"}
DESCRIBE = {"function", "class", "method", "attribute", "data", "exception", "describe", "object", "option",
            "cmdoption", "envvar", "confval", "decorator", "staticmethod", "classmethod", "property", "type",
            "member", "macro", "var", "struct", "enum", "enumerator", "directive", "role"}
IMAGE_OPTIONS = {"alt", "height", "width", "scale", "align", "target", "class", "name", "figwidth", "figclass",
                 "loading"}
TITLED = {"tab", "tab-item", "group-tab", "dropdown", "card", "grid-item-card", "details", "tab-set-code"}
CODE_ROLES = {"kbd", "file", "samp", "command", "program", "option", "envvar", "code", "literal", "makevar", "regexp",
              "class", "func", "meth", "mod", "attr", "data", "exc", "obj", "const", "type", "member", "macro",
              "var", "struct", "enum", "enumerator", "expr", "texpr", "decorator", "confval", "directive", "role"}
CALLABLE_ROLES = {"func", "meth"}
XREF_ROLES = CODE_ROLES - {"kbd", "file", "samp", "command", "program", "code", "literal", "makevar", "regexp"}

_DIRECTIVE = re.compile(r"^\.\.\s+([\w:+.-]+)\s*::(.*)$")
_OPTION = re.compile(r"^:[\w-]+:(\s|$)")
_ROLE = re.compile(r"^(?::([\w:+.-]+):)?`(.*)`(?::([\w:+.-]+):)?_{0,2}$", re.DOTALL)
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]*)>$", re.DOTALL)
_SUBSTITUTION = re.compile(r"^\|(.+)\|_{0,2}$", re.DOTALL)


def split_directive(text: str) -> tuple[str, str, list[str], str]:
    """A directive's source as (name, argument text, option lines, body)."""
    lines = text.split("\n")
    found = _DIRECTIVE.match(lines[0].strip())
    name, args = (found.group(1).lower(), found.group(2).strip()) if found else ("", "")
    rest = textwrap.dedent("\n".join(lines[1:])).split("\n")
    i = 0
    while i < len(rest) and rest[i].strip() and not _OPTION.match(rest[i].strip()):
        args, i = f"{args} {rest[i].strip()}".strip(), i + 1
    options = []
    while i < len(rest) and _OPTION.match(rest[i].strip()):
        options, i = [*options, rest[i].strip()], i + 1
    return name, args, options, "\n".join(rest[i:]).strip("\n")


def _body(text: str, reparse: Reparse) -> list[nodes.Node]:
    return [n for n in reparse(text) if isinstance(n, nodes.Element)] if text.strip() else []


def directive_nodes(text: str, reparse: Reparse) -> list[nodes.Node]:
    """What a directive docutils failed on stands for, by its name (see the module docstring)."""
    name, args, options, body = split_directive(text)
    short = name.split(":")[-1]
    if short in DROP:
        return []
    kept = [o for o in options if o.split(":")[1] in IMAGE_OPTIONS]
    if name in ("image", "figure") and len(kept) < len(options):  # again, with only the options docutils knows
        indented = textwrap.indent("\n".join([*kept, "", body]), "   ")
        return reparse(f".. {name}:: {args}\n{indented}")
    if short in LITERAL:
        return [nodes.literal_block(body, body)] if body.strip() else []
    if short in LABELLED:
        version = "" if short == "seealso" else args.split(" ", 1)[0]
        rest = args if short == "seealso" else args[len(version):].strip()
        label = f"{LABELLED[short]} {version}".strip()
        head = _body(f"{label}: {rest}" if rest else f"{label}.", reparse)
        return [nodes.container("", *head, *_body(body, reparse))]
    if short == "centered":
        return _body(args, reparse)
    if short in DESCRIBE or ":" in name:
        signature = [nodes.paragraph("", "", nodes.literal(args, args))] if args else []
        return [nodes.container("", *signature, *_body(body, reparse))]
    title = [nodes.paragraph(args, args)] if short in TITLED and args else []
    return [nodes.container("", *title, *_body(body, reparse))]


def _short_target(target: str) -> str:
    """``~pkg.mod.run`` -> ``run``; ``!name`` -> ``name``."""
    target = target.lstrip("!")
    return target[1:].split(".")[-1] if target.startswith("~") else target


def _section_title(label: str, document: nodes.document) -> str:
    node = document.ids.get(document.nameids.get(nodes.fully_normalize_name(label)) or "")
    if isinstance(node, nodes.section) and node.children and isinstance(node[0], nodes.title):
        return node[0].astext()
    return ""


def role_text(role: str, content: str, document: nodes.document) -> str:
    """The text Sphinx shows for ``:role:`content```."""
    short = role.lower().split(":")[-1]
    if short == "menuselection":
        return re.sub(r"\s*-->\s*", " > ", content).replace("&&", "\0").replace("&", "").replace("\0", "&")
    if short == "guilabel":
        return content.replace("&&", "\0").replace("&", "").replace("\0", "&")
    if short in ("file", "samp"):
        return re.sub(r"(?<!\\)[{}]", "", content)
    if short in ("kbd", "abbr", "code", "literal", "math"):
        return content
    explicit = _EXPLICIT.match(content)
    if explicit and explicit.group(1):
        return explicit.group(1)
    target = explicit.group(2) if explicit else content
    if short == "ref":
        return _section_title(target, document) or target
    if short == "doc":
        return target.rstrip("/").split("/")[-1]
    if short in XREF_ROLES:
        shown = _short_target(target)
        return shown + "()" if short in CALLABLE_ROLES and not shown.endswith(")") else shown
    return target


def _problematic_nodes(node: nodes.problematic, document: nodes.document,
                       substitutions: dict[str, str]) -> list[nodes.Node]:
    raw = node.astext()
    sub = _SUBSTITUTION.match(raw)
    if sub:
        return [nodes.Text(substitutions.get(sub.group(1), sub.group(1)))]
    role = _ROLE.match(raw)
    if role and (role.group(1) or role.group(3)):
        name = role.group(1) or role.group(3)
        text = role_text(name, role.group(2), document)
        code = name.lower().split(":")[-1] in CODE_ROLES
        return [nodes.literal(text, text) if code else nodes.Text(text)]
    return [nodes.Text(raw)]


def _message_nodes(message: nodes.system_message, reparse: Reparse) -> list[nodes.Node]:
    quoted = next(iter(message.findall(nodes.literal_block)), None)
    if quoted is None:
        return []
    text = quoted.astext()
    if _DIRECTIVE.match(text.split("\n", 1)[0].strip()):
        return directive_nodes(text, reparse)
    return [nodes.literal_block(text, text)]


def _replace(node: nodes.Node, new: list[nodes.Node]) -> None:
    """Put ``new`` where ``node`` is (``replace_self`` would insist on keeping its ids)."""
    parent = node.parent
    at = parent.index(node)
    parent[at:at + 1] = new


def repair_doctree(document: nodes.document, reparse: Reparse, substitutions: dict[str, str] | None = None) -> None:
    """Replace the system messages and problematic nodes docutils left for Sphinx markup (in place).

    ``reparse`` parses a piece of reStructuredText (a directive's body) into body nodes, already
    repaired; ``substitutions`` gives text for substitutions defined elsewhere (``version``).
    """
    for message in list(document.findall(nodes.system_message)):
        if message.parent is not None:
            _replace(message, _message_nodes(message, reparse))
    for node in list(document.findall(nodes.problematic)):
        if node.parent is not None:
            _replace(node, _problematic_nodes(node, document, substitutions or {}))
    for section in list(document.findall(nodes.section)):
        if "system-messages" in section.get("classes", ()):
            section.parent.remove(section)
