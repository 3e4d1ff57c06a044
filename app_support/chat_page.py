"""The chat page: corpus sidebar with filters and uploads, chat with cited answers, compare mode.

Letter text is untrusted: it only ever reaches the page through `escape_markdown` (or st.dataframe /
st.text, which show text literally); unsafe_allow_html is never used.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import streamlit as st

from app_support import resources
from app_support.followup import letter_phrases, resolve_follow_up
from app_support.tables import compare_rows, make_filters, rows_to_csv
from app_support.text import (confidence_label, escape_inline, escape_markdown, highlight_quote, paragraph_after,
                              passage_in_context)
from app_support.uploads import UploadRejected, check_upload, save_upload

log = logging.getLogger(__name__)


# --- session state ---------------------------------------------------------------------------------
def _init_state() -> None:
    ss = st.session_state
    ss.setdefault("history", [])  # list of message dicts
    ss.setdefault("last_question", None)  # the last question as interpreted (for follow-ups)
    ss.setdefault("processed_uploads", set())
    ss.setdefault("upload_report", None)


def _new_conversation() -> None:
    st.session_state["history"] = []
    st.session_state["last_question"] = None


# --- index ------------------------------------------------------------------------------------------
def _ensure_index(settings) -> bool:
    """Build the index on first run (with a progress bar). False when there is nothing to show."""
    from index.building import NothingToIndex

    if resources.build_name(settings) is not None:
        return True
    st.info(f"No index yet at {escape_inline(str(settings.index_dir))} — indexing the letters in "
            f"{escape_inline(str(settings.corpus_dir))} first (this happens once).")
    try:
        report = resources.build(settings, "First-time indexing")
    except NothingToIndex as exc:
        st.error(f"There are no letters to index yet: {escape_inline(str(exc))}. Add a letter below.")
        _upload_section(settings, st.container(border=True))
        return False
    except FileNotFoundError as exc:
        st.error(f"The corpus folder is missing: {escape_inline(str(exc))}")
        return False
    st.session_state["upload_report"] = {"saved": [], "rejected": [], "summary": report.summary(),
                                         "skipped": [s.line() for s in report.skipped]}
    return True


# --- sidebar ----------------------------------------------------------------------------------------
def _sidebar(settings, assistant):
    docs = assistant.documents
    sb = st.sidebar
    sb.header("Letters")
    sb.caption(f"{len(docs)} letter(s) indexed from {escape_inline(str(settings.corpus_dir))}")
    for d in docs:
        m = d.metadata
        with sb.expander(escape_inline(m.title or d.source)):
            for label, value in (("File", d.source), ("Sender", m.sender), ("Role", m.role),
                                 ("Organisation", m.organisation), ("Date", m.date), ("To", m.recipient),
                                 ("Subject", m.subject), ("Reference", m.reference)):
                if value:
                    st.markdown(f"**{label}:** {escape_inline(value)}")

    sb.header("Filters")
    titles = {d.source: (d.metadata.title or d.source) for d in docs}
    sources = sb.multiselect("Letters", options=[d.source for d in docs], key="f_letters",
                             format_func=lambda s: _short(titles.get(s, s)),
                             placeholder="All letters")
    senders = sorted({d.metadata.sender for d in docs if d.metadata.sender})
    sender = sb.selectbox("Sender", [""] + senders, key="f_sender", format_func=lambda v: v or "Any sender")
    orgs = sorted({d.metadata.organisation for d in docs if d.metadata.organisation})
    organisation = sb.selectbox("Organisation", [""] + orgs, key="f_org",
                                format_func=lambda v: v or "Any organisation")
    dates = sorted(dt.date.fromisoformat(d.metadata.date) for d in docs if _iso(d.metadata.date))
    date_range = None
    if sb.checkbox("Filter by date", key="f_use_dates"):
        low = dates[0] if dates else dt.date(2000, 1, 1)
        high = dates[-1] if dates else dt.date.today()
        picked = sb.date_input("Letters dated between", value=(low, high), key="f_dates", format="YYYY-MM-DD")
        date_range = picked if isinstance(picked, (tuple, list)) else (picked,)
    filters = make_filters(sources, sender, organisation, date_range)

    sb.header("Add letters")
    _upload_section(settings, sb)
    from index.building import staleness

    stale = staleness(settings)
    if stale:
        sb.warning("The corpus folder has changed since the index was built.")
    if sb.button("Update the index", key="reindex", help="Index letters added to the corpus folder directly"):
        _reindex(settings)
        st.rerun()
    return filters


def _reindex(settings) -> None:
    from index.building import NothingToIndex

    try:
        report = resources.build(settings, "Updating the index")
        st.session_state["upload_report"] = {"saved": [], "rejected": [], "summary": report.summary(),
                                             "skipped": [s.line() for s in report.skipped]}
    except NothingToIndex as exc:
        st.session_state["upload_report"] = {"saved": [], "rejected": [str(exc)], "summary": "", "skipped": []}


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(value: str | None) -> bool:
    try:
        dt.date.fromisoformat(value or "")
        return True
    except ValueError:
        return False


def _upload_section(settings, where) -> None:
    where.caption(f"txt, md, pdf or docx, up to {settings.max_file_mb:g} MB each. Saved under "
                  f"{escape_inline(str(Path(settings.corpus_dir) / 'uploads'))} and indexed.")
    files = where.file_uploader("Letters to add", type=["txt", "md", "pdf", "docx"], accept_multiple_files=True,
                                key="uploader")
    if where.button("Add to the corpus", key="add_letters", disabled=not files):
        _add_letters(settings, files or [])
        st.rerun()
    report = st.session_state.get("upload_report")
    if report:
        for line in report["saved"]:
            where.success(f"Added {escape_inline(line)}")
        for line in report["rejected"]:
            where.error(f"Not added: {escape_inline(line)}")
        for line in report["skipped"]:
            where.warning(escape_inline(line))
        if report.get("summary"):
            where.caption(escape_inline(report["summary"]))


def _add_letters(settings, files) -> None:
    from index.building import NothingToIndex

    done = st.session_state["processed_uploads"]
    saved, rejected = [], []
    for f in files:
        file_id = getattr(f, "file_id", None) or f"{f.name}:{f.size}"
        if file_id in done:
            continue
        done.add(file_id)
        try:
            checked = check_upload(f.name, f.getvalue(), settings.max_file_bytes)
            path = save_upload(Path(settings.corpus_dir), checked)
        except UploadRejected as exc:
            rejected.append(str(exc))
            continue
        except OSError as exc:
            rejected.append(f"{f.name}: could not save ({exc.strerror or exc})")
            continue
        rel = path.relative_to(settings.corpus_dir).as_posix()
        saved.append(rel if rel.endswith(checked.name) and checked.name == Path(f.name).name
                     else f"{rel} (from {f.name})")
    summary, skipped = "", []
    if saved:
        try:
            report = resources.build(settings, "Indexing the new letters")
            summary = report.summary()
            skipped = [s.line() for s in report.skipped]
        except NothingToIndex as exc:
            summary = str(exc)
    st.session_state["upload_report"] = {"saved": saved, "rejected": rejected, "summary": summary,
                                         "skipped": skipped}


# --- source viewer ----------------------------------------------------------------------------------
@st.dialog("Source letter", width="large")
def _source_viewer(source: str, char_start: int, char_end: int, answer_start: int | None,
                   answer_end: int | None) -> None:
    _render_source(source, char_start, char_end, answer_start, answer_end)


def _render_source(source, char_start, char_end, answer_start, answer_end) -> None:
    try:
        assistant = resources.assistant(resources.settings())
        text = assistant.reader.text(source)
        doc = assistant.reader.by_source[source]
    except Exception:  # the letter was removed from the index since
        st.warning("This letter is no longer in the index.")
        return
    m = doc.metadata
    st.markdown(f"#### {escape_inline(m.title or source)}")
    st.caption(" · ".join(escape_inline(v) for v in (m.sender, m.role, m.date, source) if v))
    st.markdown("**Cited passage, in context**")
    with st.container(border=True):
        st.markdown(passage_in_context(text, char_start, char_end, answer_start, answer_end, radius=400))
    with st.expander("The whole letter (cited passage highlighted)"):
        st.markdown(passage_in_context(text, char_start, char_end, answer_start, answer_end, radius=len(text)))


# --- chat rendering ---------------------------------------------------------------------------------
def _render_answer(msg: dict, idx: int) -> None:
    answer = msg["answer"]
    if msg.get("interpreted"):
        st.caption(f"Interpreted as: {escape_inline(msg['interpreted'])}")
    if msg.get("filtered"):
        st.caption(escape_inline(msg["filtered"]))
    if answer.abstained:
        st.markdown("**The letters don't answer this question.**")
        if answer.reason:
            st.caption(escape_inline(answer.reason))
        if answer.passages:
            st.markdown("Closest passages:")
        for j, p in enumerate(answer.passages[:3]):
            with st.container(border=True):
                snippet = p.text if len(p.text) <= 400 else p.text[:400].rsplit(" ", 1)[0] + " …"
                st.markdown(escape_markdown(snippet))
                st.caption(f"{escape_inline(msg['titles'].get(p.source, p.source))} · score {p.score:.2f}")
                if st.button("Open in letter", key=f"open-{idx}-p{j}"):
                    _source_viewer(p.source, p.char_start, p.char_end, None, None)
        return
    st.markdown(f"**Answer:** {escape_inline(answer.answer)}")
    for j, c in enumerate(answer.citations):
        with st.container(border=True):
            st.markdown(highlight_quote(c.quote, c.char_start, c.answer_start, c.answer_end))
            after = msg.get("after", {}).get(j)
            if after:
                st.caption("Continues: " + escape_inline(after))
            meta = [c.title or c.source, c.sender, c.date, f"page {c.page}" if c.page else None]
            st.caption(" · ".join(escape_inline(v) for v in meta if v))
            if st.button(f"Open in letter: {escape_inline(c.source)}", key=f"open-{idx}-c{j}"):
                _source_viewer(c.source, c.char_start, c.char_end, c.answer_start, c.answer_end)
    st.caption(f"Confidence: {confidence_label(answer.confidence)}")


def _render_compare(msg: dict, idx: int) -> None:
    if msg.get("interpreted"):
        st.caption(f"Interpreted as: {escape_inline(msg['interpreted'])}")
    rows = msg["rows"]
    answered = sum(1 for r in rows if r["answer"] != "not answered")
    st.markdown(f"Compared across {len(rows)} letter(s); {answered} answer it.")
    st.dataframe(rows, hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn("confidence", format="%.2f")})
    st.download_button("Download as CSV", rows_to_csv(rows), file_name="letters-qa-compare.csv", mime="text/csv",
                       key=f"csv-{idx}", on_click="ignore")


def _render_history() -> None:
    for idx, msg in enumerate(st.session_state["history"]):
        with st.chat_message(msg["role"]):
            kind = msg.get("kind", "text")
            if kind == "answer":
                _render_answer(msg, idx)
            elif kind == "compare":
                _render_compare(msg, idx)
            elif kind == "error":
                st.warning(escape_inline(msg["text"]))
            else:
                st.markdown(escape_markdown(msg["text"]))


def _handle(question: str, assistant, filters, compare: bool) -> dict:
    """Answer one question; always returns a message, never raises."""
    from retrieval import QuestionError

    docs = assistant.documents
    titles = {d.source: (d.metadata.title or d.source) for d in docs}
    interpreted = resolve_follow_up(question, st.session_state.get("last_question"),
                                    letter_phrases(d.metadata for d in docs))
    shown = interpreted if interpreted != " ".join(question.split()) else None
    if filters is not None and not any(filters.admits(d) for d in docs):
        return {"role": "assistant", "kind": "error",
                "text": "No letter matches the filters in the sidebar; widen them and ask again."}
    try:
        if compare:
            answers = assistant.compare(interpreted, filters=filters)
            result = {"role": "assistant", "kind": "compare", "rows": compare_rows(answers, titles),
                      "interpreted": shown}
        else:
            answer = assistant.ask(interpreted, filters=filters)
            after = {}
            for j, c in enumerate(answer.citations):
                try:
                    after[j] = paragraph_after(assistant.reader.text(c.source), c.char_end)
                except KeyError:
                    pass
            admitted = sum(1 for d in docs if filters is None or filters.admits(d))
            result = {"role": "assistant", "kind": "answer", "answer": answer, "interpreted": shown,
                      "titles": titles, "after": after,
                      "filtered": f"Searched {admitted} of {len(docs)} letters (filters on)" if filters else None}
    except QuestionError as exc:
        return {"role": "assistant", "kind": "error", "text": f"I can't answer that as asked: {exc}."}
    except Exception:  # never show a traceback in the chat
        log.exception("question failed")
        return {"role": "assistant", "kind": "error",
                "text": "Sorry, something went wrong answering that. Please try rephrasing the question."}
    st.session_state["last_question"] = interpreted
    return result


# --- page -------------------------------------------------------------------------------------------
def main() -> None:
    from index.store import IndexUnavailable

    _init_state()
    settings = resources.settings()
    st.title("Letters QA")
    st.caption("Ask questions about the letters; every answer is quoted from a letter, with its source.")
    if not _ensure_index(settings):
        return
    try:
        assistant = resources.assistant(settings)
    except IndexUnavailable as exc:
        st.error(f"The index cannot be used: {escape_inline(str(exc))}")
        if st.button("Rebuild the index", key="rebuild"):
            resources.build(settings.replace(), "Rebuilding the index")
            st.rerun()
        return
    filters = _sidebar(settings, assistant)

    left, right = st.columns([3, 1])
    compare = left.toggle("Compare across letters", key="compare_mode",
                          help="Answer the same question once per letter, as a table you can download.")
    right.button("New conversation", key="new_conversation", on_click=_new_conversation)

    prompt = st.chat_input("Ask about the letters, e.g. What grants does the Safer Communities Fund offer?",
                           key="question", max_chars=4000)
    if prompt is not None:
        st.session_state["history"].append({"role": "user", "kind": "text", "text": prompt})
        st.session_state["history"].append(_handle(prompt, assistant, filters, compare))
    if not st.session_state["history"]:
        st.info("Try: *What grants does the Safer Communities Fund offer?* — then a follow-up like "
                "*and what about Greater Manchester?*")
    _render_history()
