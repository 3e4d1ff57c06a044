"""Rendering benchmark letters written in the markup of BENCHMARK_SPEC.md to real Word and PDF files:
``python -m eval render``.

    eval/letters_src/<slug>.docx.md  ->  eval/letters/<slug>.docx   (python-docx)
    eval/letters_src/<slug>.pdf.md   ->  eval/letters/<slug>.pdf    (fpdf2, DejaVu Sans from matplotlib)

Markup: ``@header:`` / ``@footer:`` lines become real page headers/footers repeated on every page
(``{page}`` and ``{pages}`` are page fields); a blank line starts a paragraph, a single newline is a
line break; consecutive lines starting with ``|`` form a table; ``**bold**``; a line starting with
``>`` is right-aligned; ``---pagebreak---`` forces a page break. ``parse`` is the pure core; the
writers turn its blocks into bytes that do not depend on when they were made (fixed dates and zip
timestamps), so re-rendering an unchanged source gives the same file.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union

SOURCE_SUFFIXES = (".docx.md", ".pdf.md")
PAGE_BREAK = "---pagebreak---"
# Files carry this date, not the time they were rendered, so rendering twice gives identical bytes.
FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    right: bool = False

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass(frozen=True)
class Paragraph:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Union[Paragraph, Table, PageBreak]


@dataclass(frozen=True)
class LetterSource:
    header: str | None
    footer: str | None
    blocks: tuple[Block, ...]


class RenderError(ValueError):
    """A source that cannot be rendered; the message names the file and the reason."""


# --- parsing (pure) -----------------------------------------------------------------------------
def runs_of(text: str) -> tuple[Run, ...]:
    """``a **b** c`` -> (a , b bold, c); an unpaired ``**`` is kept as text."""
    parts = text.split("**")
    if len(parts) % 2 == 0:  # odd number of markers: the last one is literal
        parts = [*parts[:-2], parts[-2] + "**" + parts[-1]]
    return tuple(Run(p, bool(i % 2)) for i, p in enumerate(parts) if p)


def plain(text: str) -> str:
    return "".join(r.text for r in runs_of(text))


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return tuple(plain(c.strip()) for c in inner.split("|"))


def parse(source: str) -> LetterSource:
    header = footer = None
    blocks: list[Block] = []
    para: list[Line] = []
    table: list[tuple[str, ...]] = []

    def flush() -> None:
        if para:
            blocks.append(Paragraph(tuple(para)))
            para.clear()
        if table:
            blocks.append(Table(tuple(table)))
            table.clear()

    for raw in source.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if m := re.match(r"^@(header|footer):\s?(.*)$", line):
            if m.group(1) == "header":
                header = m.group(2).strip() or None
            else:
                footer = m.group(2).strip() or None
            continue
        if line.strip() == PAGE_BREAK:
            flush()
            blocks.append(PageBreak())
        elif not line.strip():
            flush()
        elif line.lstrip().startswith("|"):
            if para:
                flush()
            table.append(_cells(line))
        else:
            if table:
                flush()
            right = line.startswith(">")
            para.append(Line(runs_of(line[1:].lstrip() if right else line), right))
    flush()
    return LetterSource(header, footer, tuple(blocks))


def plain_text(letter: LetterSource, cell_separator: str = "\t") -> str:
    """The letter's body text as a reader should find it (no header/footer): paragraphs separated
    by blank lines, table rows as cells joined by `cell_separator`."""
    out = []
    for block in letter.blocks:
        if isinstance(block, Paragraph):
            out.append("\n".join(line.text for line in block.lines))
        elif isinstance(block, Table):
            out.extend(cell_separator.join(row) for row in block.rows)
    return "\n\n".join(out)


# --- Word ---------------------------------------------------------------------------------------
def _add_field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) as begin/instr/separate/result/end runs."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._r.append(element)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run("1")
    char("end")


def _header_footer_paragraph(paragraph, text: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for piece in re.split(r"(\{page\}|\{pages\})", text):
        if piece == "{page}":
            _add_field(paragraph, "PAGE")
        elif piece == "{pages}":
            _add_field(paragraph, "NUMPAGES")
        else:
            for run in runs_of(piece):
                r = paragraph.add_run(run.text)
                r.bold = run.bold
    for r in paragraph.runs:
        r.font.size = Pt(8)


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with fixed member timestamps (python-docx stamps the time of saving)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, _ZIP_DATE), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def render_docx(letter: LetterSource, title: str = "") -> bytes:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(11)
    props = document.core_properties
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    props.title, props.author, props.last_modified_by, props.revision = title, "Letters QA benchmark", "", 1
    section = document.sections[0]
    if letter.header:
        _header_footer_paragraph(section.header.paragraphs[0], letter.header)
    if letter.footer:
        _header_footer_paragraph(section.footer.paragraphs[0], letter.footer)

    for block in letter.blocks:
        if isinstance(block, PageBreak):
            document.add_page_break()
        elif isinstance(block, Table):
            width = max(len(row) for row in block.rows)
            table = document.add_table(rows=len(block.rows), cols=width)
            table.style = "Table Grid"
            for row, cells in zip(table.rows, block.rows):
                for cell, text in zip(row.cells, cells):
                    cell.text = text
        else:
            # lines of one paragraph with different alignments become consecutive paragraphs
            groups: list[list[Line]] = []
            for line in block.lines:
                if groups and groups[-1][0].right == line.right:
                    groups[-1].append(line)
                else:
                    groups.append([line])
            for n, group in enumerate(groups):
                paragraph = document.add_paragraph()
                if group[0].right:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                if n < len(groups) - 1:
                    paragraph.paragraph_format.space_after = Pt(0)
                for i, line in enumerate(group):
                    for run in line.runs:
                        paragraph.add_run(run.text).bold = run.bold or None
                    if i < len(group) - 1:
                        paragraph.add_run().add_break()
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())


# --- PDF ----------------------------------------------------------------------------------------
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def render_pdf(letter: LetterSource, title: str = "") -> bytes:
    from fpdf import FPDF

    class LetterPdf(FPDF):
        def header(self) -> None:
            if letter.header:
                self.set_font("DejaVu", "", 8)
                self.cell(0, 5, letter.header.replace("**", ""), align="C", new_x="LMARGIN", new_y="NEXT")
                self.ln(4)

        def footer(self) -> None:
            if letter.footer:
                self.set_y(-15)
                self.set_font("DejaVu", "", 8)
                text = letter.footer.replace("**", "").replace("{page}", str(self.page_no()))
                self.cell(0, 5, text.replace("{pages}", self.str_alias_nb_pages), align="C")

    pdf = LetterPdf(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author("Letters QA benchmark")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()
    size, height = 10, 5
    pdf.set_font("DejaVu", "", size)
    for block in letter.blocks:
        if isinstance(block, PageBreak):
            pdf.add_page()
        elif isinstance(block, Table):
            with pdf.table(text_align="LEFT", line_height=height + 1) as table:
                for cells in block.rows:
                    row = table.row()
                    for text in cells:
                        row.cell(text)
            pdf.ln(2)
        else:
            for line in block.lines:
                if line.right or not any(run.bold for run in line.runs):
                    pdf.set_font("DejaVu", "B" if all(run.bold for run in line.runs) else "", size)
                    pdf.multi_cell(0, height, line.text, align="R" if line.right else "L",
                                   new_x="LMARGIN", new_y="NEXT")
                    continue
                for run in line.runs:  # mixed bold: flowing text, run by run
                    pdf.set_font("DejaVu", "B" if run.bold else "", size)
                    pdf.write(height, run.text)
                pdf.ln(height)
            pdf.set_font("DejaVu", "", size)
            pdf.ln(2.5)
    return bytes(pdf.output())


RENDERERS = {".docx.md": ("docx", render_docx), ".pdf.md": ("pdf", render_pdf)}


def target_name(source_file: Path) -> str:
    """eval/letters_src/x.pdf.md -> x.pdf"""
    for suffix, (extension, _) in RENDERERS.items():
        if source_file.name.endswith(suffix):
            return source_file.name[: -len(suffix)] + "." + extension
    raise RenderError(f"{source_file}: not a .docx.md or .pdf.md source")


def render_file(source_file: Path, out_dir: Path) -> Path:
    """Render one source into out_dir; returns the written path. Unchanged bytes are not rewritten."""
    name = target_name(source_file)
    suffix = next(s for s in RENDERERS if source_file.name.endswith(s))
    try:
        letter = parse(source_file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"{source_file}: cannot read ({exc})") from None
    if not any(isinstance(b, (Paragraph, Table)) for b in letter.blocks):
        raise RenderError(f"{source_file}: no text to render")
    data = RENDERERS[suffix][1](letter, title=name)
    target = out_dir / name
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return target


def sources(src_dir: Path) -> list[Path]:
    return sorted(p for p in src_dir.iterdir() if p.name.endswith(SOURCE_SUFFIXES)) if src_dir.is_dir() else []
