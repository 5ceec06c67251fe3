"""A report page read back as a person reads it: through the standard library's HTML parser, as a
small tree of elements, their classes and their text (what a browser would show, tags left out)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"br", "img", "meta", "wbr", "hr", "input", "link"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list["Element | str"] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text inside, as shown (a `<br>` as a line break)."""
        return "".join(
            child if isinstance(child, str) else ("\n" if child.tag == "br" else child.text)
            for child in self.children
        )

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def all(self, tag: str) -> list["Element"]:
        """Every element `tag` inside, in document order."""
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if child.tag == tag:
                    found.append(child)
                found += child.all(tag)
        return found

    def one(self, tag: str) -> "Element":
        (found,) = self.all(tag)
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.open[-1].tag == tag, f"</{tag}> closes <{self.open[-1].tag}>"
        self.open.pop()

    def handle_data(self, data):
        self.open[-1].children.append(data)


def parse(page: str) -> Element:
    """The page as a tree; every element is closed where it was opened (checked)."""
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert builder.open == [builder.root], "elements left open"
    return builder.root


def table_text(table: Element) -> list[list[str]]:
    """The header row then each body row, as the cells' texts."""
    return [[cell.text for cell in row.children if isinstance(cell, Element)] for row in table.all("tr")]


def sections(page: Element) -> list[str]:
    """The page's h2 headings, in order."""
    return [h2.text for h2 in page.all("h2")]
